/// Operations on the per-head and per-column structure of projection outputs (Qwen2 biases,
/// Qwen3 q/k norms), kept beside the other row operations so Model stays free of pointers.
extension Matrix {
    /// `self[r, :] += v` for every row: a linear layer's bias.
    public mutating func addToEveryRow(_ v: [Float]) {
        precondition(v.count == cols, "addToEveryRow: \(v.count) entries for \(cols) columns")
        let n = cols
        elements.withUnsafeMutableBufferPointer { a in
            v.withUnsafeBufferPointer { b in
                for r in 0..<rows {
                    let row = a.baseAddress! + r * n
                    for j in 0..<n { row[j] += b[j] }
                }
            }
        }
    }

    /// RMSNorm over each `headDim`-wide head of every row, with one weight vector shared by all
    /// heads: transformers' `q_norm(q.view(..., -1, head_dim))`. A row-major matrix of
    /// tokens × heads·headDim is the same memory as (tokens·heads) × headDim, so this is the row
    /// RMSNorm on that view.
    public func headwiseRMSNormalized(headDim: Int, weight: [Float], epsilon: Float) -> Matrix {
        precondition(headDim > 0 && cols % headDim == 0, "headwise RMSNorm: \(cols) columns are not heads of \(headDim)")
        let view = Matrix(rows: rows * (cols / headDim), cols: headDim, elements: elements)
        return Matrix(rows: rows, cols: cols, elements: view.rmsNormalized(weight: weight, epsilon: epsilon).elements)
    }
}
