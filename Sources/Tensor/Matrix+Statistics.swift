import CBLAS

/// Column statistics and in-place sub-block updates that the Pruning module needs.
///
/// Pruning is pointer-free (docs/style.md "Unsafe code"), so every loop whose speed matters there —
/// the per-window activation sums of docs/algorithms.md §3 and the SparseGPT column sweep of §6.2 —
/// is written here, with BLAS where a BLAS routine computes exactly the needed quantity.
extension Matrix {
    /// `self ← scale · self + gain · xᵀx`, full symmetric result.
    ///
    /// One `cblas_ssyrk` on the upper triangle (half the flops of a general product), then the
    /// upper triangle is mirrored so callers always see a full matrix. This is the SparseGPT
    /// Hessian update of docs/algorithms.md §3.2, which explicitly allows a symmetric rank-L update.
    public mutating func symmetricRankUpdate(with x: Matrix, scale: Float, gain: Float) {
        precondition(rows == cols && cols == x.cols,
                     "symmetricRankUpdate: \(rows)x\(cols) target, \(x.rows)x\(x.cols) input")
        let n = cols
        if n == 0 { return }
        if x.rows > 0 {
            x.elements.withUnsafeBufferPointer { px in
                elements.withUnsafeMutableBufferPointer { ph in
                    // Row-major x is (L × n); Trans makes C = xᵀ·x (n × n).
                    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, Int32(n), Int32(x.rows),
                                gain, px.baseAddress, Int32(n), scale, ph.baseAddress, Int32(n))
                }
            }
        } else {
            for i in elements.indices { elements[i] *= scale }
        }
        elements.withUnsafeMutableBufferPointer { ph in
            for i in 0..<n {
                for j in (i + 1)..<n { ph[j * n + i] = ph[i * n + j] }
            }
        }
    }

    /// `self ← self · scale + other`, element by element in float32, rounding after the product
    /// and after the sum (torch's `H *= scale; H += other`). The order of elements is irrelevant:
    /// each element is its own computation.
    public mutating func scaleAndAdd(_ other: Matrix, scale: Float) {
        precondition(rows == other.rows && cols == other.cols, "scaleAndAdd: \(rows)x\(cols) and \(other.rows)x\(other.cols)")
        other.elements.withUnsafeBufferPointer { po in
            elements.withUnsafeMutableBufferPointer { ph in
                for i in 0..<ph.count { ph[i] = ph[i] * scale + po[i] }
            }
        }
    }

    /// `Σ_r self[r, j]²` for every column `j` (float32, rows visited in order).
    public func columnSquaredSums() -> [Float] {
        var out = [Float](repeating: 0, count: cols)
        elements.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { o in
                for r in 0..<rows {
                    let base = r * cols
                    for j in 0..<cols { o[j] += p[base + j] * p[base + j] }
                }
            }
        }
        return out
    }

    /// `Σ_r self[r, j]` for every column `j`: `xᵀ · 1` with `cblas_sgemv`.
    public func columnSums() -> [Float] {
        var out = [Float](repeating: 0, count: cols)
        if rows == 0 || cols == 0 { return out }
        let ones = [Float](repeating: 1, count: rows)
        elements.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { o in
                cblas_sgemv(CblasRowMajor, CblasTrans, Int32(rows), Int32(cols), 1, p.baseAddress,
                            Int32(cols), ones, 1, 0, o.baseAddress, 1)
            }
        }
        return out
    }

    /// Population variance of every column around the given means:
    /// `(1/rows) Σ_r (self[r, j] − mean_j)²`, two-pass as `torch.var(unbiased=False)`.
    public func columnPopulationVariances(means: [Float]) -> [Float] {
        precondition(means.count == cols, "columnPopulationVariances: \(means.count) means for \(cols) columns")
        var out = [Float](repeating: 0, count: cols)
        if rows == 0 { return out }
        elements.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { o in
                for r in 0..<rows {
                    let base = r * cols
                    for j in 0..<cols {
                        let d = p[base + j] - means[j]
                        o[j] += d * d
                    }
                }
                let count = Float(rows)
                for j in 0..<cols { o[j] /= count }
            }
        }
        return out
    }

    /// Column `j` as an array.
    public func column(_ j: Int) -> [Float] {
        precondition(j >= 0 && j < cols, "column: index \(j) outside 0..<\(cols)")
        return (0..<rows).map { elements[$0 * cols + j] }
    }

    /// Overwrites column `j`.
    public mutating func setColumn(_ j: Int, to values: [Float]) {
        precondition(j >= 0 && j < cols && values.count == rows, "setColumn: bad index or length")
        for r in 0..<rows { elements[r * cols + j] = values[r] }
    }

    /// A copy of `self[rowRange, colRange]`.
    public func submatrix(rows rowRange: Range<Int>, cols colRange: Range<Int>) -> Matrix {
        precondition(rowRange.lowerBound >= 0 && rowRange.upperBound <= rows
                     && colRange.lowerBound >= 0 && colRange.upperBound <= cols, "submatrix: range out of bounds")
        var out = Matrix(rows: rowRange.count, cols: colRange.count)
        for (i, r) in rowRange.enumerated() {
            let src = r * cols + colRange.lowerBound
            out.elements.replaceSubrange((i * colRange.count)..<((i + 1) * colRange.count),
                                        with: elements[src..<(src + colRange.count)])
        }
        return out
    }

    /// Writes `block` into columns `[start, start + block.cols)` of every row.
    public mutating func replaceColumns(startingAt start: Int, with block: Matrix) {
        precondition(block.rows == rows && start >= 0 && start + block.cols <= cols, "replaceColumns: shape mismatch")
        for r in 0..<rows {
            let dst = r * cols + start
            elements.replaceSubrange(dst..<(dst + block.cols), with: block.row(r))
        }
    }

    /// `self[:, start...] −= x ⊗ y` (one `cblas_sger` on the column sub-block), where
    /// `x.count == rows` and `y.count == cols − start`. SparseGPT's per-column OBS update (§6.2).
    public mutating func subtractOuterProduct(_ x: [Float], _ y: [Float], startingAtColumn start: Int) {
        precondition(x.count == rows && start >= 0 && start + y.count == cols, "subtractOuterProduct: shape mismatch")
        if rows == 0 || y.isEmpty { return }
        let ld = cols
        elements.withUnsafeMutableBufferPointer { p in
            cblas_sger(CblasRowMajor, Int32(rows), Int32(y.count), -1, x, 1, y, 1,
                       p.baseAddress! + start, Int32(ld))
        }
    }

    /// `self[:, start ..< start + b.cols] −= a · b` (one `cblas_sgemm` writing into the
    /// sub-block in place). SparseGPT's lazy batch update of later columns (§6.2).
    public mutating func subtractProduct(_ a: Matrix, _ b: Matrix, startingAtColumn start: Int) {
        precondition(a.rows == rows && a.cols == b.rows && start >= 0 && start + b.cols <= cols,
                     "subtractProduct: shape mismatch")
        if rows == 0 || b.cols == 0 || a.cols == 0 { return }
        let ld = cols
        a.elements.withUnsafeBufferPointer { pa in
            b.elements.withUnsafeBufferPointer { pb in
                elements.withUnsafeMutableBufferPointer { pc in
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(b.cols),
                                Int32(a.cols), -1, pa.baseAddress, Int32(a.cols), pb.baseAddress,
                                Int32(b.cols), 1, pc.baseAddress! + start, Int32(ld))
                }
            }
        }
    }
}
