import Tensor

/// The set of pruned positions of one weight matrix (`true` = set to exactly 0).
public struct PruningMask: Sendable, Equatable {
    public let rows: Int
    public let cols: Int
    public var pruned: [Bool]

    public init(rows: Int, cols: Int) {
        self.rows = rows
        self.cols = cols
        pruned = [Bool](repeating: false, count: rows * cols)
    }

    public init(rows: Int, cols: Int, pruned: [Bool]) {
        precondition(pruned.count == rows * cols, "PruningMask: \(pruned.count) flags for \(rows)x\(cols)")
        self.rows = rows
        self.cols = cols
        self.pruned = pruned
    }

    public subscript(row: Int, col: Int) -> Bool {
        get { pruned[row * cols + col] }
        set { pruned[row * cols + col] = newValue }
    }

    /// Number of pruned positions (already-zero weights that are not in the mask do not count).
    public var prunedCount: Int {
        // Summed as bytes (a Bool is stored as 0 or 1), a loop without a branch that vectorises;
        // the branch on each flag was a coin flip at 50% sparsity.
        pruned.withUnsafeBytes { bytes in
            var n = 0
            for b in bytes { n &+= Int(b) }
            return n
        }
    }

    /// Pruned columns of one row, ascending.
    public func prunedColumns(row: Int) -> [Int] {
        (0..<cols).filter { pruned[row * cols + $0] }
    }

    /// The weight with every masked entry set to exactly 0.
    public func apply(to weight: Matrix) -> Matrix {
        precondition(weight.rows == rows && weight.cols == cols, "PruningMask.apply: shape mismatch")
        var out = weight
        // One select per element over raw buffers (an indexed store per pruned entry re-checked
        // the array's uniqueness each time: 8% of a llama-7b-shaped Wanda prune's samples).
        pruned.withUnsafeBufferPointer { flags in
            out.withUnsafeMutableElements { w in
                for i in 0..<flags.count { w[i] = flags[i] ? 0 : w[i] }
            }
        }
        return out
    }

    public func transposed() -> PruningMask {
        var t = PruningMask(rows: cols, cols: rows)
        for r in 0..<rows {
            for c in 0..<cols { t.pruned[c * rows + r] = pruned[r * cols + c] }
        }
        return t
    }
}
