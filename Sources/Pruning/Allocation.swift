import Foundation

/// How the target sparsity is spread over blocks (docs/design.md `--allocation`).
public enum Allocation: Sendable, Hashable {
    case uniform
    /// OWL (docs/algorithms.md §7): `m` = Hyper_m (default 5, OWL README), `lambda` = Lamda (0.08).
    case owl(m: Double, lambda: Double)
    /// ATP (§8): common difference `beta` of the arithmetic progression.
    case atp(beta: Double)
    /// DLP (`DLP.swift`): spread `alpha` around the target from per-block mean Wanda metrics.
    case dlp(alpha: Double)
    /// AlphaPruning (`AlphaPruning.swift`, docs/algorithms.md §14): from the weights' spectra
    /// alone; `epsilon` is the mapping's half-range, `fit` its x_min choice.
    case alpha(epsilon: Double, fit: AlphaPruning.Fit)

    /// Whether the plan needs one value per block from the dense statistics pass (OWL's outlier
    /// ratios, DLP's scores).
    public var needsBlockScores: Bool {
        switch self {
        case .owl, .dlp: true
        case .uniform, .atp, .alpha: false
        }
    }

    /// Whether the plan is built from one value per block (and records them).
    public var usesBlockValues: Bool {
        if case .alpha = self { return true }
        return needsBlockScores
    }

    public static let defaultOWL = Allocation.owl(m: 5, lambda: 0.08)
}

/// Every block at `target`.
public func uniformSparsities(blocks: Int, target: Double) throws -> [Double] {
    try validateTarget(target, blocks: blocks)
    return [Double](repeating: target, count: blocks)
}

/// OWL block sparsities from outlier ratios `D` (percent), float64 throughout (§7.2; luuyin/OWL
/// `lib/prune_all.py: prune_wanda_outlier`, whose operation order is kept:
/// `(D − min) · ((1/(max − min)) · λ · 2)`, minus the mean, plus `1 − s`, as a keep ratio).
///
/// Clamp `s_l ≤ 0 → 0.01` as in the reference; `max D == min D` gives the uniform plan (the
/// reference divides by zero); any `s_l ≥ 1` is an error naming the block and the largest
/// valid `λ` (project choices, §13.6).
public func owlSparsities(outlierRatios d: [Double], target s: Double, lambda: Double) throws -> [Double] {
    try validateTarget(s, blocks: d.count)
    guard lambda.isFinite, lambda >= 0 else {
        throw PruningError.invalidArgument(argument: "--owl-lambda", value: "\(lambda)", reason: "must be a finite value ≥ 0")
    }
    guard let lo = d.min(), let hi = d.max(), d.allSatisfy(\.isFinite) else {
        throw PruningError.invalidArgument(argument: "outlier ratios", value: "\(d)", reason: "must be finite")
    }
    if hi == lo { return [Double](repeating: s, count: d.count) }
    let sparsities = owlFormula(d, lo: lo, hi: hi, target: s, lambda: lambda)
    if let worst = sparsities.indices.max(by: { sparsities[$0] < sparsities[$1] }), sparsities[worst] >= 1 {
        // s_l = s + 2λ(mean(n) − n_l) with n = (D − min)/(max − min); the largest s_l is at
        // n_l = 0, so s_l < 1 ⇔ λ < (1 − s) / (2·mean(n)).
        let meanNormalized = d.map { ($0 - lo) / (hi - lo) }.reduce(0, +) / Double(d.count)
        throw PruningError.owlLambdaTooLarge(lambda: lambda, block: worst, sparsity: sparsities[worst],
                                             largestValid: largestValue(near: (1 - s) / (2 * meanNormalized)) { candidate in
            owlFormula(d, lo: lo, hi: hi, target: s, lambda: candidate).allSatisfy { $0 < 1 }
        })
    }
    // The reference raises a block whose s_l ≤ 0 to 0.01, so a λ large for a low target gives a
    // plan that prunes more than asked; the realized plan's mean is checked, not a bound (issue 10
    // item 6): s_l > 0 ⇔ λ < s / (2·(1 − mean(n))).
    let mean = sparsities.reduce(0, +) / Double(sparsities.count)
    if abs(mean - s) > 1e-9, let raised = d.firstIndex(of: hi) {  // the lowest s_l is at the largest ratio
        let meanNormalized = d.map { ($0 - lo) / (hi - lo) }.reduce(0, +) / Double(d.count)
        throw PruningError.owlMeanDeparts(lambda: lambda, target: s, mean: mean, block: raised,
                                          largestValid: largestValue(near: s / (2 * (1 - meanNormalized))) { candidate in
            let x = owlFormula(d, lo: lo, hi: hi, target: s, lambda: candidate)
            return x.allSatisfy { $0 < 1 } && abs(x.reduce(0, +) / Double(x.count) - s) <= 1e-9
        })
    }
    return sparsities
}

/// §7.2 without validation: `1 − (r_l − mean(r) + (1 − s))`, clamped `≤ 0 → 0.01`.
private func owlFormula(_ d: [Double], lo: Double, hi: Double, target s: Double, lambda: Double) -> [Double] {
    let r = d.map { ($0 - lo) * ((1 / (hi - lo)) * lambda * 2) }
    let meanR = r.reduce(0, +) / Double(r.count)
    return r.map { rl -> Double in
        let sl = 1 - (rl - meanR + (1 - s))
        return sl <= 0 ? 0.01 : sl
    }
}

/// ATP block sparsities `s_l = (s − β(B−1)/2) + l·β` (§8.1; wzhuang-xmu/ATP `main.py`).
///
/// `β` must lie in `[0, β_max]`, `β_max = min(2s, 2(1−s))/(B−1)` (§8.2, the reference's
/// "Illegal beta"). Beyond the reference, a plan whose last block reaches sparsity 1 (β = β_max
/// with s ≥ 0.5) is rejected too, as for OWL: it would remove every weight of that block.
public func atpSparsities(blocks: Int, target s: Double, beta: Double) throws -> [Double] {
    try validateTarget(s, blocks: blocks)
    let maxBeta = blocks > 1 ? min(2 * s, 2 * (1 - s)) / Double(blocks - 1) : 0
    let first = { (beta: Double) in s - beta * Double(blocks - 1) / 2 }
    let largestValid = {
        largestValue(near: maxBeta) { b in b <= maxBeta && first(b) + Double(blocks - 1) * b < 1 }
    }
    guard beta.isFinite, beta >= 0 else {
        throw PruningError.atpBetaInvalid(beta: beta, block: 0, sparsity: s, largestValid: largestValid())
    }
    let sparsities = (0..<blocks).map { max(0, first(beta) + Double($0) * beta) }
    let last = blocks - 1
    if beta > maxBeta || sparsities[last] >= 1 {
        let lastValue = first(beta) + Double(last) * beta
        let (block, value) = lastValue >= 1 ? (last, lastValue) : (0, first(beta))
        throw PruningError.atpBetaInvalid(beta: beta, block: block, sparsity: value, largestValid: largestValid())
    }
    return sparsities
}

private func validateTarget(_ s: Double, blocks: Int) throws {
    guard blocks > 0 else {
        throw PruningError.invalidArgument(argument: "blocks", value: "\(blocks)", reason: "a plan needs at least one block")
    }
    guard s.isFinite, s >= 0, s < 1 else {
        throw PruningError.invalidArgument(argument: "--sparsity", value: "\(s)", reason: "must be in [0, 1)")
    }
}

/// A short decimal for error messages that is itself valid: `bound` truncated to two
/// significant digits (at least two decimals), or one step below, whichever first passes
/// `isValid` (the analytic bound can be off by one ulp, and an exclusive bound is itself
/// invalid); more digits only if both fail.
private func largestValue(near bound: Double, isValid: (Double) -> Bool) -> Double {
    guard bound > 0, bound.isFinite else { return 0 }
    let first = max(2, 1 - Int((log10(bound)).rounded(.down)))
    for digits in first...(first + 7) {
        let scale = pow(10, Double(digits))
        let truncated = (bound * scale).rounded(.down) / scale
        for candidate in [truncated, truncated - 1 / scale] where candidate > 0 && isValid(candidate) {
            return candidate
        }
    }
    return 0
}
