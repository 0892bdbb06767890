import Foundation
import Tensor

/// AlphaPruning (NeurIPS 2024) layerwise sparsity from the weights alone, as
/// haiquanlu/AlphaPruning computes it (docs/algorithms.md §14; `lib/esd_utils.py:
/// net_esd_estimator`, `lib/prune.py: ww_sparsity`, defaults of `main.py`):
///
/// 1. Per linear, the empirical spectral density: the eigenvalues λ of WᵀW (squared singular
///    values), ascending, all of them (`filter_zeros=False`).
/// 2. A power-law fit `p(λ) ∝ λ^(−α)` above `x_min` by the Hill estimator
///    `α = 1 + n / (Σ_{j≥i} ln λ_j − n·ln λ_i)`, `n = N − i`; `x_min = λ_i` chosen by `fit`.
/// 3. Per block, the mean α of its seven linears (`mapping_type = block_wise`).
/// 4. `r_l = (α_l − min α)/(max α − min α)·2ε + (1 − ε)`, scaled so the parameter-weighted mean
///    sparsity is the target: `s_l = r_l · s·Σp / Σ(p·r)`. Every block holds the same seven
///    linears, so this is `r_l · s·B / Σ r`. Heavier tails (smaller α) keep more weights.
public enum AlphaPruning {
    /// `main.py --epsilon` default. (Its published scripts pass 0.2 for Wanda and SparseGPT and
    /// 0.3 for magnitude at 70%; owlprune keeps the parser default.)
    public static let defaultEpsilon = 0.3

    /// How `x_min` is chosen (`fix_fingers`).
    public enum Fit: String, Sendable, Hashable, Codable, CaseIterable {
        /// `xmin_peak` (`--ww_metric alpha_peak`, the default and every script's choice): among
        /// the candidates near the peak of the log10-spectrum histogram, the one with the
        /// smallest Kolmogorov–Smirnov distance.
        case peak
        /// `xmin_mid` (`alpha_mid`): `x_min = λ_{⌊N/2⌋}`, no search.
        case mid
    }

    /// `net_esd_estimator` defaults: `bins=100`, `xmin_pos=2`.
    static let bins = 100
    static let xminPosition = 2

    /// α of one spectrum (`eigenvalues` ascending, all positive).
    public static func alpha(eigenvalues e: [Double], fit: Fit) -> Double {
        let count = e.count
        guard count >= 2 else { return 0 }
        let logs = e.map { Foundation.log($0) }
        // Hill estimate and KS distance with x_min = e[i] (the reference's two expressions).
        func estimate(_ i: Int) -> Double {
            let n = Double(count - i)
            var sum = 0.0
            for j in i..<count { sum += logs[j] }
            return 1 + n / (sum - n * logs[i])
        }
        func distance(_ i: Int, alpha: Double) -> Double {
            let n = Double(count - i)
            var worst = 0.0
            for j in i..<count {
                let d = abs(1 - Foundation.pow(e[j] / e[i], -alpha + 1) - Double(j - i) / n)
                if d > worst || d.isNaN { worst = d }
            }
            return worst
        }
        switch fit {
        case .mid:
            return estimate(count / xminPosition)
        case .peak:
            // torch.histc over log10 λ between its min and max, first fullest bin, its left
            // edge from torch.linspace(min, max, bins + 1).
            let h = e.map { Foundation.log10($0) }
            var lo = h.min()!, hi = h.max()!
            if lo == hi { lo -= 1; hi += 1 }   // torch.histc widens an empty range by 1 each side
            var counts = [Int](repeating: 0, count: bins)
            for v in h { counts[min(Int((v - lo) * Double(bins) / (hi - lo)), bins - 1)] += 1 }
            let peak = counts.indices.max { counts[$0] < counts[$1] || (counts[$0] == counts[$1] && $0 > $1) }!
            let step = (hi - lo) / Double(bins)
            let edge = peak < (bins + 1) / 2 ? lo + Double(peak) * step : hi - Double(bins - peak) * step
            let peakValue = Foundation.pow(10, edge)
            // The reference's lower bound is log10(0.95·x_peak) compared against λ itself (not
            // 0.95·x_peak); kept, since it decides which candidates are fitted.
            let lower = Foundation.log10(0.95 * peakValue), upper = 1.5 * peakValue
            // `alphas` starts at zeros and `Ds` at ones, written only for fitted candidates (Ds
            // only when α > 1); torch.argmin returns the first minimum.
            var alphas = [Double](repeating: 0, count: count - 1), ds = [Double](repeating: 1, count: count - 1)
            for i in 0..<(count - 1) {
                if e[i] < lower { continue }
                if e[i] > upper { break }
                alphas[i] = estimate(i)
                if alphas[i] > 1 { ds[i] = distance(i, alpha: alphas[i]) }
            }
            var chosen = 0
            for i in ds.indices where ds[i] < ds[chosen] { chosen = i }
            return alphas[chosen]
        }
    }

    /// α of one weight matrix; throws naming `layer` when its spectrum has a non-positive
    /// eigenvalue (a rank-deficient matrix: the fit takes logarithms of every eigenvalue).
    public static func alpha(of weight: Matrix, layer: String, fit: Fit) throws -> Double {
        guard let e = weight.gramEigenvalues() else {
            throw PruningError.invalidArgument(argument: layer, value: "\(weight.rows)x\(weight.cols)",
                                               reason: "LAPACK dsyevd did not converge on its Gram matrix")
        }
        guard let bad = e.firstIndex(where: { !($0 > 0) || !$0.isFinite }) else { return alpha(eigenvalues: e, fit: fit) }
        throw PruningError.invalidArgument(argument: layer, value: "eigenvalue \(bad) of WᵀW = \(e[bad])",
                                           reason: "AlphaPruning needs a full-rank weight (its power-law fit takes ln of every eigenvalue)")
    }

    /// Mean α of a block's linears (`block_wise`: `np.mean` over the block's seven values).
    public static func blockMetric(linears: [(name: String, weight: Matrix)], fit: Fit) throws -> Double {
        var sum = 0.0
        for (name, w) in linears { sum += try alpha(of: w, layer: name, fit: fit) }
        return linears.isEmpty ? 0 : sum / Double(linears.count)
    }

    /// Block sparsities from block metrics. Project choices beyond the reference: equal metrics
    /// give the uniform plan (the reference divides by zero), and a block pushed to sparsity ≥ 1
    /// is an error naming it and the largest valid ε (as for OWL and DLP, §13.6).
    public static func sparsities(metrics: [Double], target s: Double, epsilon: Double) throws -> [Double] {
        guard epsilon.isFinite, epsilon >= 0, epsilon < 1 else {
            throw PruningError.invalidArgument(argument: "--alpha-epsilon", value: "\(epsilon)", reason: "must be in [0, 1)")
        }
        guard !metrics.isEmpty, metrics.allSatisfy(\.isFinite) else {
            throw PruningError.invalidArgument(argument: "AlphaPruning metrics", value: "\(metrics)", reason: "must be finite")
        }
        guard s.isFinite, s >= 0, s < 1 else {
            throw PruningError.invalidArgument(argument: "--sparsity", value: "\(s)", reason: "must be in [0, 1)")
        }
        let lo = metrics.min()!, hi = metrics.max()!
        guard hi > lo else { return [Double](repeating: s, count: metrics.count) }
        func formula(_ eps: Double) -> [Double] {
            let (s1, s2) = (1 - eps, 1 + eps)
            let r = metrics.map { (($0 - lo) / (hi - lo)) * (s2 - s1) + s1 }
            let scaler = Double(metrics.count) * s / r.reduce(0, +)
            return r.map { $0 * scaler }
        }
        let result = formula(epsilon)
        if let worst = result.indices.max(by: { result[$0] < result[$1] }), result[worst] >= 1 {
            var valid = epsilon
            while valid > 0, formula(valid).contains(where: { $0 >= 1 }) { valid = (valid * 100).rounded(.down) / 100 - 0.01 }
            throw PruningError.invalidArgument(argument: "--alpha-epsilon", value: "\(epsilon)",
                                               reason: "pushes block \(worst) to sparsity \(result[worst]); the largest valid value is about \(max(valid, 0))")
        }
        return result
    }
}
