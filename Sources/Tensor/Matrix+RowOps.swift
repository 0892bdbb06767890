/// Row-wise operations of a transformer block, each written once over raw rows so Model code
/// stays free of pointers.
extension Matrix {
    /// RMSNorm as transformers' LlamaRMSNorm computes it in float32:
    /// `w ⊙ (x · 1/sqrt(mean(x²) + ε))` per row.
    public func rmsNormalized(weight: [Float], epsilon: Float) -> Matrix {
        precondition(weight.count == cols, "rmsNorm: weight has \(weight.count) entries, rows have \(cols)")
        var out = Matrix(uninitializedRows: rows, cols: cols)
        let n = cols
        elements.withUnsafeBufferPointer { src in
            weight.withUnsafeBufferPointer { w in
                out.elements.withUnsafeMutableBufferPointer { dst in
                    for r in 0..<rows {
                        let row = src.baseAddress! + r * n
                        var sum: Float = 0
                        for j in 0..<n { sum += row[j] * row[j] }
                        let scale = 1 / (sum / Float(n) + epsilon).squareRoot()
                        let o = dst.baseAddress! + r * n
                        for j in 0..<n { o[j] = w[j] * (row[j] * scale) }
                    }
                }
            }
        }
        return out
    }

    /// `self += other`, the residual connection.
    public mutating func add(_ other: Matrix) {
        precondition(rows == other.rows && cols == other.cols, "add: shape mismatch")
        elements.withUnsafeMutableBufferPointer { a in
            other.elements.withUnsafeBufferPointer { b in
                for i in 0..<a.count { a[i] += b[i] }
            }
        }
    }

    /// SwiGLU: `silu(gate) ⊙ up`, with silu(x) = x / (1 + exp(-x)) evaluated through FastMath.
    public static func swiglu(gate: Matrix, up: Matrix) -> Matrix {
        var out = gate
        out.applySwiGLU(up: up)
        return out
    }

    /// `self ← silu(self) ⊙ up` in place: the block's gate product becomes the down projection's
    /// input without a third window × intermediate buffer (3 MB at SmolLM2, L = 512; 90 MB at
    /// LLaMA-7B, L = 2048) being allocated, faulted in and streamed through.
    public mutating func applySwiGLU(up: Matrix) {
        precondition(rows == up.rows && cols == up.cols, "swiglu: shape mismatch")
        elements.withUnsafeMutableBufferPointer { g in
            up.elements.withUnsafeBufferPointer { u in
                // One vectorised pass (FastMath.exp is branch-free scalar code), the same
                // operations in the same order as silu(x)·y lane by lane.
                let n = g.count
                guard let gp = g.baseAddress, let up = u.baseAddress else { return }
                for i in 0..<n {
                    let x = gp[i]
                    gp[i] = x / (1 + FastMath.exp(-x)) * up[i]
                }
            }
        }
    }

    /// Gathers rows of an embedding table by token id.
    public func gatherRows(_ ids: [Int]) -> Matrix {
        var out = Matrix(rows: ids.count, cols: cols)
        elements.withUnsafeBufferPointer { src in
            out.elements.withUnsafeMutableBufferPointer { dst in
                for (r, id) in ids.enumerated() {
                    precondition(id >= 0 && id < rows, "gatherRows: token id \(id) outside 0..<\(rows)")
                    (dst.baseAddress! + r * cols).update(from: src.baseAddress! + id * cols, count: cols)
                }
            }
        }
        return out
    }
}
