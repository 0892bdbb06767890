import Tensor

/// The comparison groups shared by every metric-based method. All orders are
/// `(metric ascending, index ascending)` (ALGORITHMS.md §5.2, §5.3, §13.4): the references'
/// stable `torch.sort` gives the same order; their `torch.topk` for N:M leaves ties
/// unspecified, which the project fixes to "lower index first".
enum Selection {
    /// Column indices of `values` sorted by `(value, index)` ascending.
    static func ascendingOrder(_ values: ArraySlice<Float>) -> [Int] {
        let base = values.startIndex
        return values.indices.map { $0 - base }.sorted { a, b in
            let va = values[base + a], vb = values[base + b]
            return va < vb || (va == vb && a < b)
        }
    }

    /// In every row, the `count` entries with the smallest metric (Wanda §5.2).
    static func smallestPerRow(_ metric: Matrix, count: Int) -> PruningMask {
        var mask = PruningMask(rows: metric.rows, cols: metric.cols)
        if count == 0 { return mask }
        for r in 0..<metric.rows {
            for j in ascendingOrder(metric.row(r)).prefix(count) { mask[r, j] = true }
        }
        return mask
    }

    /// In every row and every group of `m` consecutive columns, the `n` smallest (§5.3).
    /// The caller has checked `0 < n < m` and `cols % m == 0`.
    static func nOfMPerRow(_ metric: Matrix, n: Int, m: Int) -> PruningMask {
        var mask = PruningMask(rows: metric.rows, cols: metric.cols)
        for r in 0..<metric.rows {
            let row = metric.row(r)
            for g in stride(from: 0, to: metric.cols, by: m) {
                let start = row.startIndex + g
                for t in ascendingOrder(row[start..<(start + m)]).prefix(n) { mask[r, g + t] = true }
            }
        }
        return mask
    }

    /// One group per matrix, with the references' `≤ τ` rule (§4): `τ` = the element at index
    /// `count` of the values sorted ascending; every entry `≤ τ` is pruned, ties included.
    /// `count` must be below `values.count`.
    static func atOrBelowThreshold(_ values: [Float], count: Int) -> [Bool] {
        let tau = values.sorted()[count]
        return values.map { $0 <= tau }
    }
}
