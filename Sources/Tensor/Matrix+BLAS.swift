import CBLAS

/// Matrix products. Every product in owlprune goes through OpenBLAS `cblas_sgemm`, which is
/// deterministic for a fixed shape and thread count, so the same inputs give the same bits on
/// every rank (the rank-count independence of docs/design.md §3 rests on this).
extension Matrix {
    /// `x · Wᵀ` for `x` (tokens × in) and a checkpoint weight `W` (out × in): a linear layer.
    public func linear(_ weight: Matrix) -> Matrix {
        precondition(cols == weight.cols, "linear: input has \(cols) features, weight expects \(weight.cols)")
        var out = Matrix(uninitializedRows: rows, cols: weight.rows)
        Matrix.gemm(self, transposeA: false, weight, transposeB: true, into: &out)
        return out
    }

    /// `A · B` (row-major, untransposed).
    public func matmul(_ other: Matrix) -> Matrix {
        precondition(cols == other.rows, "matmul: \(rows)x\(cols) · \(other.rows)x\(other.cols)")
        var out = Matrix(rows: rows, cols: other.cols)
        Matrix.gemm(self, transposeA: false, other, transposeB: false, into: &out)
        return out
    }

    /// `C ← alpha · op(A) · op(B) + beta · C`.
    public static func gemm(_ a: Matrix, transposeA: Bool, _ b: Matrix, transposeB: Bool,
                            into c: inout Matrix, alpha: Float = 1, beta: Float = 0) {
        let m = transposeA ? a.cols : a.rows
        let k = transposeA ? a.rows : a.cols
        let kb = transposeB ? b.cols : b.rows
        let n = transposeB ? b.rows : b.cols
        precondition(k == kb && c.rows == m && c.cols == n, "gemm: shape mismatch")
        if m == 0 || n == 0 { return }
        if k == 0 {
            if beta == 0 { c.elements.withUnsafeMutableBufferPointer { p in p.update(repeating: 0) } }
            return
        }
        a.elements.withUnsafeBufferPointer { pa in
            b.elements.withUnsafeBufferPointer { pb in
                c.elements.withUnsafeMutableBufferPointer { pc in
                    cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
                                transposeB ? CblasTrans : CblasNoTrans,
                                Int32(m), Int32(n), Int32(k), alpha,
                                pa.baseAddress, Int32(a.cols), pb.baseAddress, Int32(b.cols),
                                beta, pc.baseAddress, Int32(n))
                }
            }
        }
    }
}

/// Pins OpenBLAS to one thread: docs/platform.md measures no gain from two threads on this machine,
/// and one BLAS thread per MPI rank keeps ranks from fighting over the same cores.
public func setBLASThreads(_ n: Int) {
    openblas_set_num_threads(Int32(n))
}
