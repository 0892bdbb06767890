import Foundation
import Tensor

/// DaSS — dependency-aware semi-structured sparsity for GLU MLPs (arXiv 2405.01943, Guo,
/// Kamigaito, Watanabe; TMLR 2025).
///
/// The definition (docs/algorithms.md §10.2) follows the authors' code, `guozhiyu/glu_dass`
/// (commit 2d03ebc, linked from the TMLR OpenReview page), `lib/prune.py: prune_wandinter`,
/// selected by `--prune_method wandinter`:
///
/// - `down_proj`: the plain Wanda metric `|W_ik|·sqrt(S^down_k)`, grouped per output row
///   (`torch.sort(dim=-1)`, Wanda's §5.2 rule; N:M along input columns).
/// - `gate_proj`/`up_proj`: `|W_kj| · (S^down_k)^(1/4)`, i.e. `n_k^α` with `α = 1/2` on the
///   intermediate norm `n_k = sqrt(S^down_k)` (`torch.pow(scaler_row, 0.25)`), and the
///   comparison group is each **input column** across the intermediate neurons
///   (`torch.sort(dim=0)`: every column loses `floor(rows·s)` weights; N:M takes `M`
///   consecutive **rows** of one column, `topk(dim=0)`). So weak intermediate neurons lose
///   more of their row — the "dependency-aware" part — which a per-row group could not do.
/// - Ties: `(metric, row)` ascending within a column, like the project's other orders.
/// - Attention projections: the authors' script prunes only the three MLP matrices
///   (`lib/prune.py: prune_wandinter`, `pres_module = ['mlp.gate_proj','mlp.up_proj',
///   'mlp.down_proj']`, every other linear `continue`s) and leaves attention dense. That is the
///   default scope (`.mlp`); `.all` prunes attention with plain Wanda at the block's sparsity,
///   which was owlprune's only behaviour before issue 12 item 7.
public struct DaSSOptions: Sendable, Hashable, Codable {
    /// Which linears a DaSS run prunes (`--dass-scope`).
    public enum Scope: String, Sendable, Hashable, Codable, CaseIterable {
        /// The authors' scope: `gate/up/down_proj` only, attention left dense.
        case mlp
        /// Attention pruned too, with plain Wanda (§10.1's metric for non-GLU linears).
        case all
    }

    /// `α` on the intermediate norm `n_k` for `gate_proj`/`up_proj` (authors' code: 1/2).
    public var normExponent: Double = 0.5
    public var scope: Scope = .mlp

    public init(scope: Scope = .mlp) { self.scope = scope }

    /// Whether DaSS leaves this linear dense.
    public func keepsDense(_ kind: LinearKind) -> Bool { scope == .mlp && !kind.isMLP }
}

extension SparsityPlan {
    /// Sets the attention linears of every block to sparsity 0 under the authors' scope, so the
    /// plan (and its table, picture and report) says what each linear really gets.
    public mutating func applyDaSSScope(_ options: DaSSOptions?) {
        guard let options, options.scope == .mlp else { return }
        for b in linearSparsities.indices {
            for kind in LinearKind.allCases where options.keepsDense(kind) { linearSparsities[b][kind] = 0 }
        }
    }
}

/// The DaSS metric of `gate_proj`/`up_proj`: `|W_kj| · (S^down_k)^(α/2)` in float32.
public func dassGateUpMetric(weight: Matrix, intermediateScalerRow s: [Float], options: DaSSOptions = DaSSOptions()) -> Matrix {
    precondition(s.count == weight.rows, "dassGateUpMetric: \(s.count) intermediate norms for \(weight.rows) rows")
    let exponent = Float(options.normExponent / 2)
    var out = weight
    for k in 0..<weight.rows {
        let factor = pow(s[k], exponent)
        for j in 0..<weight.cols { out[k, j] = abs(weight[k, j]) * factor }
    }
    return out
}

/// DaSS mask for one MLP linear. `down_proj` uses its own `S` (which is the intermediate
/// statistic); `gate_proj`/`up_proj` need `S` of the same block's `down_proj`.
public func dassMask(weight: Matrix, kind: LinearKind, scalerRow: [Float], intermediateScalerRow: [Float]?,
                     sparsity: Double, pattern: SparsityPattern, options: DaSSOptions = DaSSOptions(),
                     layer: String) throws -> PruningMask {
    switch kind {
    case .gate, .up:
        guard let s = intermediateScalerRow else {
            throw PruningError.missingStatistic(layer: layer, statistic: "DaSS intermediate (down_proj S)")
        }
        guard s.count == weight.rows else {
            throw PruningError.shapeMismatch(layer: layer, detail: "\(s.count) intermediate norms for \(weight.rows) rows")
        }
        // Column groups = row groups of the transpose.
        let metric = dassGateUpMetric(weight: weight, intermediateScalerRow: s, options: options).transposed()
        let mask: PruningMask
        switch pattern {
        case let .nOfM(n, m):
            try pattern.validate(columns: weight.rows, layer: layer, dimension: "rows")
            mask = Selection.nOfMPerRow(metric, n: n, m: m)
        case .unstructured:
            try validateSparsity(sparsity, layer: layer)
            mask = Selection.smallestPerRow(metric, count: prunedCount(of: weight.rows, sparsity: sparsity))
        }
        return mask.transposed()
    default:
        guard scalerRow.count == weight.cols else {
            throw PruningError.shapeMismatch(layer: layer, detail: "\(scalerRow.count) statistics for \(weight.cols) columns")
        }
        return try rowwiseMask(metric: wandaMetric(weight: weight, scalerRow: scalerRow), sparsity: sparsity,
                               pattern: pattern, layer: layer)
    }
}
