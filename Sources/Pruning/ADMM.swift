import Foundation
import Tensor

/// ADMM weight reconstruction of "Fast and Optimal Weight Update for Pruned Large Language
/// Models" (Boža 2024) as fmfi-compbio/admm-pruning computes it (docs/algorithms.md §15;
/// `lib/admm.py: AdmmPruner.fasterprune`, called by `lib/prune.py: prune_admm` with
/// `percdamp=0.1` and the defaults `iterative_prune=15`, `iters=20`, `per_out=False`).
///
/// With `X = Σ xᵀx` over every calibration token, columns are normalised by
/// `d_j = sqrt(X_jj) + 1e-8` (`X̂ = D⁻¹XD⁻¹`, `Ŵ = W·D`), damped by `ρ₀ = percdamp·mean(diag X̂)`,
/// and the split problem `min ‖X̂^{1/2}(Ŵ − W')‖² s.t. W' masked` is solved by scaled ADMM with
/// a constant penalty `ρ = 1` (the code has no schedule):
/// `Z = (W+U)⊙M`, `U ← U + W − Z`, `W = (Ŵ₀·X̂_d + ρ(Z − U))·(X̂_d + ρI)⁻¹`; the result is
/// `(W+U)⊙M · D⁻¹`. owlprune works in the checkpoint's out×in layout (the reference's transposes
/// cancel because `X̂` is symmetric) and inverts `X̂_d + ρI` in float64 by Cholesky; the
/// iterations are float32 like the reference.
public struct ADMMOptions: Sendable, Hashable, Codable {
    /// `iters`: ADMM iterations.
    public var iterations = 20
    /// `iterative_prune`: iterations during which ADMM re-selects its own mask (only when it
    /// chooses the mask, i.e. as SparseGPT's alternative).
    public var maskSteps = 15
    /// `rho`: the constant penalty.
    public var rho = 1.0
    /// `percdamp` as `prune_admm` passes it (0.1; SparseGPT's is 0.01).
    public var percdamp = 0.1

    public init(iterations: Int = 20, maskSteps: Int = 15, rho: Double = 1, percdamp: Double = 0.1) {
        self.iterations = iterations
        self.maskSteps = maskSteps
        self.rho = rho
        self.percdamp = percdamp
    }
}

public enum ADMM {
    /// Runs the reconstruction. `fixedMask` non-nil: the mask of `--method wanda|ria|magnitude`
    /// is kept and only the kept weights are re-fitted. Nil: ADMM selects the mask itself from
    /// `|W+U|` in the normalised space during the first `maskSteps` iterations, as `prune_admm`.
    public static func reconstruct(weight: Matrix, hessian: HessianStatistic, fixedMask: PruningMask?, sparsity: Double,
                                   pattern: SparsityPattern, options: ADMMOptions, layer: String) throws -> PrunedLinear {
        let rows = weight.rows, cols = weight.cols
        guard hessian.hessian.rows == cols else {
            throw PruningError.shapeMismatch(layer: layer, detail: "Hessian is \(hessian.hessian.rows)x\(hessian.hessian.cols), weight has \(cols) columns")
        }
        guard options.iterations >= 0, options.maskSteps >= 0, options.rho.isFinite, options.rho > 0,
              options.percdamp.isFinite, options.percdamp >= 0 else {
            throw PruningError.invalidArgument(argument: "ADMM options", value: "\(options)", reason: "need iterations, mask steps ≥ 0, ρ > 0, damping ≥ 0")
        }
        // owlprune's Hessian is (2/N)·Σ xᵀx over N windows (§3.2); the reference's XX is Σ xᵀx.
        let toSum = Double(hessian.windowCount) / 2
        var xx = DoubleMatrix(rows: cols, cols: cols, elements: hessian.hessian.elements.map { Double($0) * toSum })
        let norm = (0..<cols).map { xx[$0, $0].squareRoot() + 1e-8 }
        for i in 0..<cols { for j in 0..<cols { xx[i, j] = xx[i, j] / norm[j] / norm[i] } }
        var diagonal = 0.0
        for j in 0..<cols { diagonal += xx[j, j] }
        let rho0 = options.percdamp * diagonal / Double(max(cols, 1))
        for j in 0..<cols { xx[j, j] += rho0 }
        var w = weight
        for r in 0..<rows { for j in 0..<cols { w[r, j] = Float(Double(weight[r, j]) * norm[j]) } }
        var mask = fixedMask ?? selectMask(w, sparsity: sparsity, pattern: pattern, step: nil, steps: 0)
        if options.iterations == 0 { return finish(w, mask: mask, norm: norm) }
        let xy = w.matmul(xx.rounded())
        for j in 0..<cols { xx[j, j] += options.rho }
        guard let lower = xx.choleskyLower(), let inverse = lower.inverseFromLowerCholesky() else {
            throw PruningError.hessianNotPositiveDefinite(layer: layer, damp: options.percdamp)
        }
        let xxInverse = inverse.rounded()
        let rho = Float(options.rho)
        var u = Matrix(rows: rows, cols: cols)
        var z = Matrix(rows: rows, cols: cols)
        for step in 0..<options.iterations {
            if fixedMask == nil, step < options.maskSteps {
                let sum = Matrix(rows: rows, cols: cols, elements: zip(w.elements, u.elements).map { $0 + $1 })
                mask = selectMask(sum, sparsity: sparsity, pattern: pattern, step: step, steps: options.maskSteps)
            }
            for e in 0..<w.count { z.elements[e] = mask.pruned[e] ? 0 : w.elements[e] + u.elements[e] }
            for e in 0..<w.count { u.elements[e] += w.elements[e] - z.elements[e] }
            var rhs = xy
            for e in 0..<w.count { rhs.elements[e] += rho * (z.elements[e] - u.elements[e]) }
            w = rhs.matmul(xxInverse)
        }
        for e in 0..<w.count { w.elements[e] += u.elements[e] }
        return finish(w, mask: mask, norm: norm)
    }

    /// `(W+U)⊙M · D⁻¹` with pruned entries exactly 0.
    private static func finish(_ w: Matrix, mask: PruningMask, norm: [Double]) -> PrunedLinear {
        var out = w
        for r in 0..<w.rows {
            for j in 0..<w.cols { out[r, j] = mask[r, j] ? 0 : Float(Double(w[r, j]) / norm[j]) }
        }
        return PrunedLinear(weight: out, mask: mask, prunedCount: mask.prunedCount)
    }

    /// ADMM's own mask on `v = |W+U|` (normalised space).
    /// - unstructured: the `⌊numel·s⌋` smallest of the whole matrix (`torch.topk(largest=False)`;
    ///   ties by position). The reference passes the final `sparsity`, not its cubic
    ///   `cur_sparsity`, to this branch, so the unstructured mask is at full sparsity from the
    ///   first step; kept.
    /// - N:M: the `M−N` largest of each group of M along the input are always kept; of the rest,
    ///   entries below the `⌊numel·c⌋+1`-th smallest (`kthvalue`) are pruned, with the cubic ramp
    ///   `c = s − s(1 − (t+1)/T)³` to `s = N/M` (the reference hard-codes 2:4; the same rule for any N:M).
    static func selectMask(_ v: Matrix, sparsity: Double, pattern: SparsityPattern, step: Int?, steps: Int) -> PruningMask {
        let count = v.count
        let magnitude = v.elements.map { abs($0) }
        var mask = PruningMask(rows: v.rows, cols: v.cols)
        switch pattern {
        case .unstructured:
            let k = Int(Double(count) * sparsity)
            let order = (0..<count).sorted { magnitude[$0] < magnitude[$1] || (magnitude[$0] == magnitude[$1] && $0 < $1) }
            for e in order.prefix(k) { mask.pruned[e] = true }
        case let .nOfM(n, m):
            let s = Double(n) / Double(m)
            var keyed = magnitude
            for r in 0..<v.rows {
                for g in stride(from: 0, to: v.cols, by: m) {
                    let group = (g..<min(g + m, v.cols)).sorted { magnitude[r * v.cols + $0] < magnitude[r * v.cols + $1] || (magnitude[r * v.cols + $0] == magnitude[r * v.cols + $1] && $0 < $1) }
                    for j in group.suffix(m - n) { keyed[r * v.cols + j] = .infinity }
                }
            }
            let current = step.map { s - s * pow(1 - Double($0 + 1) / Double(steps), 3) } ?? s
            let sorted = keyed.sorted()
            let threshold = sorted[min(Int(Double(count) * current), count - 1)]
            for e in 0..<count where !(keyed[e] >= threshold) { mask.pruned[e] = true }
        }
        return mask
    }
}
