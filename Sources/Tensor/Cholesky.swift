import CBLAS

/// A dense row-major float64 matrix, used only for factorizations that must not be done in
/// float32: docs/algorithms.md §6.1 promotes the SparseGPT Hessian exactly to float64 for the
/// three factorizations and rounds the final factor back to float32.
public struct DoubleMatrix: Sendable, Equatable {
    public let rows: Int
    public let cols: Int
    public var elements: [Double]

    public init(rows: Int, cols: Int, elements: [Double]) {
        precondition(elements.count == rows * cols, "DoubleMatrix: \(elements.count) elements for \(rows)x\(cols)")
        self.rows = rows
        self.cols = cols
        self.elements = elements
    }

    /// Exact promotion of a float32 matrix.
    public init(_ m: Matrix) {
        self.init(rows: m.rows, cols: m.cols, elements: m.elements.map { Double($0) })
    }

    public subscript(row: Int, col: Int) -> Double {
        get { elements[row * cols + col] }
        set { elements[row * cols + col] = newValue }
    }

    /// Rounds every element to float32 (nearest even).
    public func rounded() -> Matrix {
        Matrix(rows: rows, cols: cols, elements: elements.map { Float($0) })
    }
}

/// Cholesky factorizations and the inverse from a factor, through OpenBLAS's LAPACK
/// (`dpotrf_`, `dpotri_`, declared in CBLAS's shim.h). LAPACK is column-major; a row-major
/// buffer handed to it is the transpose, so a row-major *lower* factor is LAPACK's *upper* one
/// and vice versa. Every function returns nil when LAPACK reports a non-positive pivot
/// (`info > 0`), leaving the message to the caller, who knows which layer failed.
extension DoubleMatrix {
    /// `L` lower triangular with `self = L·Lᵀ` (`torch.linalg.cholesky`). The strict upper
    /// triangle of the result is zero.
    public func choleskyLower() -> DoubleMatrix? {
        potrf(rowMajorLower: true)
    }

    /// `U` upper triangular with `self = Uᵀ·U` (`torch.linalg.cholesky(upper=True)`). The
    /// strict lower triangle of the result is zero.
    public func choleskyUpper() -> DoubleMatrix? {
        potrf(rowMajorLower: false)
    }

    /// `(L·Lᵀ)⁻¹` from a lower Cholesky factor `L` (`torch.cholesky_inverse`), full symmetric.
    public func inverseFromLowerCholesky() -> DoubleMatrix? {
        precondition(rows == cols, "inverseFromLowerCholesky: \(rows)x\(cols) is not square")
        let n = rows
        if n == 0 { return self }
        var a = elements
        var info: Int32 = 0
        var order = Int32(n)
        var lda = Int32(n)
        var uplo = CChar(UInt8(ascii: "U"))   // row-major lower = column-major upper
        a.withUnsafeMutableBufferPointer { p in
            dpotri_(&uplo, &order, p.baseAddress, &lda, &info)
        }
        if info != 0 { return nil }
        // dpotri filled the row-major lower triangle; mirror it.
        for i in 0..<n {
            for j in (i + 1)..<n { a[i * n + j] = a[j * n + i] }
        }
        return DoubleMatrix(rows: n, cols: n, elements: a)
    }

    private func potrf(rowMajorLower: Bool) -> DoubleMatrix? {
        precondition(rows == cols, "cholesky: \(rows)x\(cols) is not square")
        let n = rows
        if n == 0 { return self }
        var a = elements
        var info: Int32 = 0
        var order = Int32(n)
        var lda = Int32(n)
        var uplo = CChar(UInt8(ascii: rowMajorLower ? "U" : "L"))
        a.withUnsafeMutableBufferPointer { p in
            dpotrf_(&uplo, &order, p.baseAddress, &lda, &info)
        }
        if info != 0 { return nil }
        // LAPACK leaves the other triangle untouched; zero it so the result is the factor.
        for i in 0..<n {
            for j in 0..<n where rowMajorLower ? j > i : j < i { a[i * n + j] = 0 }
        }
        return DoubleMatrix(rows: n, cols: n, elements: a)
    }
}
