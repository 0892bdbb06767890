import Tensor

/// SparseGPT's column sweep (docs/algorithms.md §6.2) over any contiguous share of a weight's
/// rows, with the same bits wherever the share is run (docs/design.md §3 "Row-parallel SparseGPT").
///
/// Why rows can be dealt out. In IST-DASLab/sparsegpt `fasterprune` everything but one step is
/// per row: the error `(w − q)/d`, the OBS update of the tile's later columns and the lazy update
/// `W[:, i2:] −= Err1 · Hinv[i1:i2, i2:]` touch only the row's own entries, against the shared
/// factor `U`; N:M groups are chosen per row. The one joint step is the unstructured threshold:
/// `τ` is the element at index `⌊n·s⌋` of the sorted scores `W1²/U_jj²` of the whole `rows × B`
/// tile, and `tileThreshold` supplies it (one rank: a quickselect over its scores; several: the
/// same over every rank's scores, which is order-free because `τ` is a value).
///
/// Why the bits do not depend on the share. The sweep runs in panels of `panelRows` rows counted
/// from the weight's first row, and every arithmetic step on a panel is a function of that panel
/// alone: the in-tile update is our own loop, and the lazy update is one `sgemm` per panel, whose
/// bits OpenBLAS makes depend on the call's row count (a row inside a 1000-row call and the same
/// row in a 30-row call can differ in the last place), so the count is fixed by the panel, never
/// by the share. A share must therefore start on a panel boundary (`rowShares` deals them).
public enum SparseGPTSweep {
    /// Rows per panel. 32 keeps a panel's `B`-column tile (16 KB) in L1 during the column loop and
    /// gives the lazy update's `sgemm` enough rows to run near its rate (`bench prune --kernels`).
    public static let panelRows = 32

    /// Contiguous row ranges of whole panels, one per part, as even as panels allow (earlier parts
    /// take the extra panel); parts past the panel count are empty.
    public static func rowShares(rows: Int, parts: Int) -> [Range<Int>] {
        precondition(parts > 0, "rowShares: \(parts) parts")
        let panels = (rows + panelRows - 1) / panelRows
        var out: [Range<Int>] = []
        var start = 0
        for p in 0..<parts {
            let count = panels / parts + (p < panels % parts ? 1 : 0)
            let end = min(rows, start + count * panelRows)
            out.append(start..<end)
            start = end
        }
        return out
    }

    /// The reference's tile threshold: the element at index `⌊n·s⌋` of all `n` scores sorted.
    public static func threshold(ofAllScores scores: [Float], sparsity: Double) -> Float {
        Selection.kthSmallest(scores, prunedCount(of: scores.count, sparsity: sparsity))
    }

    /// Sweeps `weight` — a share of the full weight's rows starting on a panel boundary — with the
    /// factor of the full weight's Hessian. Returns the updated rows (pruned entries exactly 0)
    /// and their mask.
    ///
    /// - Parameter tileThreshold: given this share's scores of one tile (row-major, `rows × B`),
    ///   the tile's `τ` over all rows of the weight. Called once per tile, for unstructured
    ///   patterns only, on every share (also an empty one) in the same order.
    ///
    /// - Parameter helpers: idle workers of the block's schedule; each tile's panels are independent
    ///   items (the tile's threshold is taken before them), so they run on any thread with the
    ///   same bits.
    public static func sweep(weight: Matrix, factor: InverseHessianFactor, sparsity: Double, pattern: SparsityPattern,
                             blocksize: Int, layer: String, helpers: Parallel.Helpers = .serial,
                             tileThreshold: ([Float]) throws -> Float) throws -> (weight: Matrix, mask: PruningMask) {
        let rows = weight.rows, cols = weight.cols, u = factor.upper
        guard u.rows == cols, u.cols == cols, factor.dead.count == cols else {
            throw PruningError.shapeMismatch(layer: layer, detail: "factor is \(u.rows)x\(u.cols), weight has \(cols) columns")
        }
        guard blocksize > 0 else {
            throw PruningError.invalidArgument(argument: "blocksize", value: "\(blocksize)", reason: "must be positive")
        }
        var group = (pruned: 0, size: 0)
        if case let .nOfM(n, m) = pattern {
            try pattern.validate(columns: cols, layer: layer)
            guard blocksize % m == 0 else {
                throw PruningError.invalidPattern(layer: layer, n: n, m: m, detail: "blocksize \(blocksize) is not a multiple of \(m)")
            }
            group = (n, m)
        }
        // The rows as panels of their own, each with its rows of the mask, for the whole sweep:
        // a tile's panel step changes only its panel, so the panels can be dealt to threads.
        var panels = stride(from: 0, to: rows, by: panelRows).map { p0 in
            var panel = Panel(weight: weight.rows(p0..<min(p0 + panelRows, rows)))
            for j in 0..<cols where factor.dead[j] {
                for r in 0..<panel.weight.rows { panel.weight[r, j] = 0 }
            }
            return panel
        }
        let nOfM = group
        for i1 in stride(from: 0, to: cols, by: blocksize) {
            let i2 = min(i1 + blocksize, cols), count = i2 - i1
            let diagonal = (0..<count).map { u[i1 + $0, i1 + $0] }
            var scores: [Float] = [], threshold: Float = 0
            if nOfM.size == 0 {
                // r_ij = W1_ij² / (U1_jj)² at the tile's start, one threshold for the whole tile.
                scores.reserveCapacity(rows * count)
                for panel in panels { scores += panel.weight.obsScores(cols: i1..<i2, diagonal: diagonal) }
                threshold = try tileThreshold(scores)
            }
            let tileScores = scores, t = threshold
            helpers.forEach(&panels) { p, panel in
                if nOfM.size == 0 {
                    let base = p * panelRows * count
                    for r in 0..<panel.weight.rows {
                        for c in 0..<count where tileScores[base + r * count + c] <= t { panel.mask[r, i1 + c] = true }
                    }
                }
                panel.sweepTile(i1..<i2, diagonal: diagonal, factor: u, group: nOfM)
            }
        }
        var elements: [Float] = [], flags: [Bool] = []
        elements.reserveCapacity(rows * cols)
        flags.reserveCapacity(rows * cols)
        // Each panel is released once copied, so the weight is held about once, not twice.
        for p in panels.indices {
            elements += panels[p].weight.elements
            flags += panels[p].mask.pruned
            panels[p] = Panel(weight: Matrix(rows: 0, cols: cols))
        }
        return (Matrix(rows: rows, cols: cols, elements: elements), PruningMask(rows: rows, cols: cols, pruned: flags))
    }

    /// One panel of rows and its mask, swept tile by tile.
    struct Panel: Sendable {
        var weight: Matrix
        var mask: PruningMask

        init(weight: Matrix) {
            self.weight = weight
            mask = PruningMask(rows: weight.rows, cols: weight.cols)
        }

        /// The panel's step of one tile: N:M groups chosen per row (unstructured: the mask is
        /// already set), the OBS elimination column by column, then the lazy update of the later
        /// columns, one `sgemm` of the panel's row count.
        mutating func sweepTile(_ columns: Range<Int>, diagonal: [Float], factor u: Matrix, group: (pruned: Int, size: Int)) {
            let i1 = columns.lowerBound, i2 = columns.upperBound, count = columns.count
            let n = weight.rows, cols = weight.cols
            var tile = weight.transposedBlock(rows: 0..<n, cols: columns)
            var errors = Matrix(rows: count, cols: n)
            var pruned = [Bool](repeating: false, count: n)
            var keys = [UInt64](repeating: 0, count: group.size)
            for c in 0..<count {
                if group.size > 0 && c % group.size == 0 {
                    for r in 0..<n {
                        for t in 0..<group.size {
                            let x = tile[c + t, r], d = diagonal[c + t]
                            keys[t] = UInt64(Selection.orderedBits((x * x) / (d * d))) << 32 | UInt64(t)
                        }
                        keys.sort()
                        for k in keys.prefix(group.pruned) { mask[r, i1 + c + Int(k & 0xFFFF_FFFF)] = true }
                    }
                }
                for r in 0..<n { pruned[r] = mask[r, i1 + c] }
                let at = (i1 + c) * cols + i1
                tile.eliminateColumn(c, pruned: pruned, divisor: diagonal[c], coefficients: u.elements[(at + c + 1)..<(at + count)],
                                     errors: &errors)
            }
            weight.setTransposedBlock(tile, rowStart: 0, colStart: i1)
            if i2 < cols {
                weight.subtractTransposedProduct(errors, u, bRows: columns, bCols: i2..<cols, rows: 0..<n, startingAtColumn: i2)
            }
        }
    }
}
