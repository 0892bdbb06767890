import CBLAS

/// The spectrum AlphaPruning fits (docs/algorithms.md §14): the eigenvalues of WᵀW, i.e. the
/// squared singular values of W (haiquanlu/AlphaPruning `lib/esd_utils.py` takes
/// `torch.square(torch.linalg.svdvals(W))`, `min(rows, cols)` of them).
extension Matrix {
    /// The `min(rows, cols)` eigenvalues of the smaller Gram matrix (`W·Wᵀ` when rows ≤ cols,
    /// else `Wᵀ·W`), ascending, in float64: the Gram is formed exactly enough by `dsyrk` on the
    /// promoted weights and diagonalised by LAPACK's `dsyevd` (eigenvalues only). Float64 keeps
    /// the small end of the spectrum accurate to ~1e-16·λ_max although forming the Gram squares
    /// the condition number. Nil when LAPACK reports failure to converge.
    public func gramEigenvalues() -> [Double]? {
        let n = Swift.min(rows, cols), k = Swift.max(rows, cols)
        if n == 0 { return [] }
        let a = elements.map { Double($0) }
        var gram = [Double](repeating: 0, count: n * n)
        a.withUnsafeBufferPointer { pa in
            gram.withUnsafeMutableBufferPointer { pc in
                // Row-major W is rows×cols: W·Wᵀ is NoTrans with K = cols; Wᵀ·W is Trans with K = rows.
                cblas_dsyrk(CblasRowMajor, CblasUpper, rows <= cols ? CblasNoTrans : CblasTrans,
                            Int32(n), Int32(k), 1, pa.baseAddress, Int32(cols), 0, pc.baseAddress, Int32(n))
            }
        }
        return symmetricEigenvalues(&gram, order: n)
    }
}

/// Eigenvalues (ascending) of the symmetric `order`×`order` matrix whose row-major upper
/// triangle is in `a` (LAPACK's column-major lower triangle); `a` is overwritten.
private func symmetricEigenvalues(_ a: inout [Double], order: Int) -> [Double]? {
    var jobz = CChar(UInt8(ascii: "N")), uplo = CChar(UInt8(ascii: "L"))
    var n = Int32(order), lda = Int32(order), info: Int32 = 0
    var w = [Double](repeating: 0, count: order)
    // Workspace query, then the call.
    var workSize = 0.0, iworkSize: Int32 = 0, query: Int32 = -1
    a.withUnsafeMutableBufferPointer { pa in
        w.withUnsafeMutableBufferPointer { pw in
            dsyevd_(&jobz, &uplo, &n, pa.baseAddress, &lda, pw.baseAddress, &workSize, &query, &iworkSize, &query, &info)
        }
    }
    guard info == 0 else { return nil }
    var lwork = Int32(workSize.rounded(.up)), liwork = Swift.max(iworkSize, 1)
    var work = [Double](repeating: 0, count: Int(lwork)), iwork = [Int32](repeating: 0, count: Int(liwork))
    a.withUnsafeMutableBufferPointer { pa in
        w.withUnsafeMutableBufferPointer { pw in
            work.withUnsafeMutableBufferPointer { pk in
                iwork.withUnsafeMutableBufferPointer { pi in
                    dsyevd_(&jobz, &uplo, &n, pa.baseAddress, &lda, pw.baseAddress, pk.baseAddress, &lwork,
                            pi.baseAddress, &liwork, &info)
                }
            }
        }
    }
    return info == 0 ? w : nil
}
