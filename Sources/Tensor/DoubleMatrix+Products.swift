import CBLAS

/// Float64 matrix products through OpenBLAS `cblas_dgemm`, for the normal equations of
/// least-squares estimates (ReplaceMe's linear map), whose sums over every calibration token
/// must not lose float32's digits. Deterministic for a fixed shape and thread count, as sgemm is.
extension DoubleMatrix {
    /// `C ← alpha · op(A) · op(B) + beta · C`.
    public static func gemm(_ a: DoubleMatrix, transposeA: Bool, _ b: DoubleMatrix, transposeB: Bool,
                            into c: inout DoubleMatrix, alpha: Double = 1, beta: Double = 0) {
        let m = transposeA ? a.cols : a.rows
        let k = transposeA ? a.rows : a.cols
        let kb = transposeB ? b.cols : b.rows
        let n = transposeB ? b.rows : b.cols
        precondition(k == kb && c.rows == m && c.cols == n, "dgemm: shape mismatch")
        if m == 0 || n == 0 { return }
        if k == 0 {
            if beta != 1 { for i in c.elements.indices { c.elements[i] *= beta } }
            return
        }
        a.elements.withUnsafeBufferPointer { pa in
            b.elements.withUnsafeBufferPointer { pb in
                c.elements.withUnsafeMutableBufferPointer { pc in
                    cblas_dgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                                Int32(m), Int32(n), Int32(k), alpha, pa.baseAddress, Int32(a.cols),
                                pb.baseAddress, Int32(b.cols), beta, pc.baseAddress, Int32(n))
                }
            }
        }
    }
}
