import Foundation
import Tensor

/// DLP — dynamic layerwise pruning (ICML 2025), as ironartisan/DLP computes it
/// (`lib/prune.py: get_dlp_ratios`, defaults of `run.py`, scripts `scripts/*.sh`):
///
/// 1. Per block, from the same dense statistics pass OWL uses: `score_l = |mean(A)|` over every
///    entry of the Wanda metric `A = |W|·sqrt(S)` of all seven linears pooled (one
///    `torch.mean` over the concatenation, so larger linears weigh more).
/// 2. Importance `I_l = 1 − score_l / Σ_k score_k`.
/// 3. `r_l = (I_l − min I) · ((1/(max I − min I)) · α · 2)`; keep ratio `r_l − mean(r) + (1 − s)`;
///    block sparsity `1 − keep`, clamped `≤ 0 → 0.01` as the reference does (`layer_sparsity_ratio`).
///    Default `α = 0.15` (`--alpha`; every published script uses it).
///
/// Every linear of a block gets the block's sparsity and is pruned by the method's own rule (the
/// reference's `prune_wanda_dlp`/`prune_sparsegpt_dlp` do exactly that). Project choices, as for
/// OWL (§7.2, §13.6): float64 throughout (the reference mixes float32 tensors and Python floats),
/// the mean is a float64 sum, equal scores give the uniform plan (the reference divides by zero),
/// and a block pushed to sparsity ≥ 1 is an error naming it and the largest valid α.
public enum DLP {
    public static let defaultAlpha = 0.15

    /// `score_l` of one block.
    public static func blockScore(linears: [(weight: Matrix, scalerRow: [Float])]) -> Double {
        var sum = 0.0, count = 0
        for (weight, scalerRow) in linears {
            let metric = wandaMetric(weight: weight, scalerRow: scalerRow)
            for v in metric.elements { sum += Double(v) }
            count += metric.count
        }
        return count == 0 ? 0 : abs(sum / Double(count))
    }

    public static func sparsities(scores: [Double], target s: Double, alpha: Double) throws -> [Double] {
        guard alpha.isFinite, alpha >= 0 else {
            throw PruningError.invalidArgument(argument: "--dlp-alpha", value: "\(alpha)", reason: "must be a finite value ≥ 0")
        }
        guard !scores.isEmpty, scores.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw PruningError.invalidArgument(argument: "DLP scores", value: "\(scores)", reason: "must be finite and ≥ 0")
        }
        guard s.isFinite, s >= 0, s < 1 else {
            throw PruningError.invalidArgument(argument: "--sparsity", value: "\(s)", reason: "must be in [0, 1)")
        }
        let total = scores.reduce(0, +)
        guard total > 0 else { return [Double](repeating: s, count: scores.count) }
        let importance = scores.map { 1 - $0 / total }
        guard let lo = importance.min(), let hi = importance.max(), hi > lo else {
            return [Double](repeating: s, count: scores.count)
        }
        func formula(_ a: Double) -> [Double] {
            let r = importance.map { ($0 - lo) * ((1 / (hi - lo)) * a * 2) }
            let mean = r.reduce(0, +) / Double(r.count)
            return r.map { rl in
                let sl = 1 - (rl - mean + (1 - s))
                return sl <= 0 ? 0.01 : sl
            }
        }
        let result = formula(alpha)
        if let worst = result.indices.max(by: { result[$0] < result[$1] }), result[worst] >= 1 {
            // The largest sparsity sits at the least important block; it grows linearly in α.
            var valid = alpha
            while valid > 0, formula(valid).contains(where: { $0 >= 1 }) { valid = (valid * 100).rounded(.down) / 100 - 0.01 }
            throw PruningError.invalidArgument(argument: "--dlp-alpha", value: "\(alpha)",
                                               reason: "pushes block \(worst) to sparsity \(result[worst]); the largest valid value is about \(max(valid, 0))")
        }
        return result
    }
}
