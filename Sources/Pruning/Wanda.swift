import Tensor

/// The Wanda metric `A_ij = |W_ij| · sqrt(S_j)` in float32: one sqrt, one multiply
/// (docs/algorithms.md §5.1; locuslab/wanda `lib/prune.py: prune_wanda`). OWL's outlier ratios (§7.1)
/// and DSnoT's pruning order (§9.1) use the same values.
public func wandaMetric(weight: Matrix, scalerRow: [Float]) -> Matrix {
    precondition(scalerRow.count == weight.cols, "wandaMetric: \(scalerRow.count) statistics for \(weight.cols) columns")
    let roots = scalerRow.map { $0.squareRoot() }
    var out = weight
    for r in 0..<weight.rows {
        let base = r * weight.cols
        for j in 0..<weight.cols { out.elements[base + j] = abs(weight.elements[base + j]) * roots[j] }
    }
    return out
}

/// Wanda's mask from a metric: per output row, `floor(cols·s)` smallest by `(metric, column)`
/// (§5.2), or the `N` smallest in each `M`-group of columns (§5.3).
public func rowwiseMask(metric: Matrix, sparsity: Double, pattern: SparsityPattern,
                        layer: String) throws -> PruningMask {
    switch pattern {
    case let .nOfM(n, m):
        try pattern.validate(columns: metric.cols, layer: layer)
        return Selection.nOfMPerRow(metric, n: n, m: m)
    case .unstructured:
        try validateSparsity(sparsity, layer: layer)
        return Selection.smallestPerRow(metric, count: prunedCount(of: metric.cols, sparsity: sparsity))
    }
}
