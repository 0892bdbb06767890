import Tensor

/// Magnitude pruning (docs/algorithms.md §4; locuslab/wanda and luuyin/OWL `prune_magnitude`).
///
/// Unstructured: one threshold per weight matrix, `τ` = the `floor(rows·cols·s)`-th smallest
/// `|W|`, and every `|W| ≤ τ` is pruned, so at least `k+1` entries go and ties at `τ` go
/// together — kept deliberately so masks equal the references'. N:M: the `N` smallest `|W|` of
/// each group of `M` consecutive columns per row.
public func magnitudeMask(weight: Matrix, sparsity: Double, pattern: SparsityPattern,
                          layer: String) throws -> PruningMask {
    let magnitudes = Matrix(rows: weight.rows, cols: weight.cols, elements: weight.elements.map { abs($0) })
    return try matrixThresholdMask(metric: magnitudes, sparsity: sparsity, pattern: pattern, layer: layer)
}

/// The §4 rule on any metric: one threshold per matrix (`≤ τ`, `τ` the `floor(rows·cols·s)`-th
/// smallest), or the `N` smallest of each `M`-group per row. Magnitude and RIA share it.
func matrixThresholdMask(metric: Matrix, sparsity: Double, pattern: SparsityPattern, layer: String) throws -> PruningMask {
    switch pattern {
    case let .nOfM(n, m):
        try pattern.validate(columns: metric.cols, layer: layer)
        return Selection.nOfMPerRow(metric, n: n, m: m)
    case .unstructured:
        try validateSparsity(sparsity, layer: layer)
        if sparsity == 0 { return PruningMask(rows: metric.rows, cols: metric.cols) }
        let k = prunedCount(of: metric.count, sparsity: sparsity)
        guard k < metric.count else { throw PruningError.invalidSparsity(layer: layer, sparsity: sparsity) }
        return PruningMask(rows: metric.rows, cols: metric.cols, pruned: Selection.atOrBelowThreshold(metric.elements, count: k))
    }
}

/// `0 ≤ s < 1` (and finite); sparsity 0 prunes nothing in every method (§13.5).
func validateSparsity(_ s: Double, layer: String) throws {
    guard s.isFinite, s >= 0, s < 1 else { throw PruningError.invalidSparsity(layer: layer, sparsity: s) }
}
