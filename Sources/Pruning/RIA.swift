import Foundation
import Tensor

/// RIA — Relative Importance and Activations (Zhang et al., ICLR 2024), as
/// biomedical-cybernetics/Relative-importance-and-activation-pruning computes it
/// (`lib/prune.py: prune_ria`, defaults of `main.py`):
///
///     RIA_ij = ( |W_ij| / Σ_r |W_rj|  +  |W_ij| / Σ_c |W_ic| ) · ( sqrt(S_j) )^a,   a = 0.5
///
/// with `S` the Wanda statistic (the same `scaler_row` running mean, docs/algorithms.md §3.1).
/// The first term is the weight's share of its input column, the second its share of its output
/// row. Comparison group, as the reference's default (`--per_outneuron` off): the whole matrix,
/// with the magnitude rule of §4 (`τ` = the `floor(rows·cols·s)`-th smallest, prune `≤ τ`, so at
/// least `k+1` entries go and ties go together). N:M: the `N` smallest of each `M` consecutive
/// columns per row (`topk(largest=False)` along rows), ties to the lower column.
///
/// The reference's channel reallocation and linear-sum-assignment refinements of N:M are off by
/// default there and are not implemented here. Row and column sums are accumulated in double and
/// rounded once (torch sums float32 in its own order, so the last bit can differ).
public enum RIA {
    /// The reference's default `--a`.
    public static let activationExponent: Float = 0.5

    public static func metric(weight: Matrix, scalerRow: [Float], exponent: Float = activationExponent) -> Matrix {
        precondition(scalerRow.count == weight.cols, "RIA: \(scalerRow.count) statistics for \(weight.cols) columns")
        var rowSums = [Double](repeating: 0, count: weight.rows)
        var colSums = [Double](repeating: 0, count: weight.cols)
        for r in 0..<weight.rows {
            let base = r * weight.cols
            for j in 0..<weight.cols {
                let a = Double(abs(weight.elements[base + j]))
                rowSums[r] += a
                colSums[j] += a
            }
        }
        let row = rowSums.map { Float($0) }, col = colSums.map { Float($0) }
        let activation = scalerRow.map { powf($0.squareRoot(), exponent) }
        var out = weight
        for r in 0..<weight.rows {
            let base = r * weight.cols
            for j in 0..<weight.cols {
                let a = abs(weight.elements[base + j])
                // An all-zero row or column contributes 0, not 0/0.
                let share = (col[j] > 0 ? a / col[j] : 0) + (row[r] > 0 ? a / row[r] : 0)
                out.elements[base + j] = share * activation[j]
            }
        }
        return out
    }

    public static func mask(metric: Matrix, sparsity: Double, pattern: SparsityPattern, layer: String) throws -> PruningMask {
        try matrixThresholdMask(metric: metric, sparsity: sparsity, pattern: pattern, layer: layer)
    }
}
