import CBLAS

/// The loops of SparseGPT's column sweep in fixed row panels (docs/design.md §3 "Row-parallel
/// SparseGPT", docs/algorithms.md §6.2). A panel's column tile is held transposed, `tile × rows`,
/// so that the column the sweep is at is one contiguous row and the per-column OBS update is a
/// short vectorised loop over the panel's rows.
///
/// Each routine's arithmetic on a row depends on that row and on the shared factor only, never on
/// which other rows are in the call, except the lazy update's `sgemm`, whose bits depend on the
/// call's row count (OpenBLAS's M-tail kernels): callers keep that count fixed by panel, which is
/// what makes the sweep's result independent of how rows are dealt to ranks.
extension Matrix {
    /// `self[rows, cols]ᵀ` as a new `cols.count × rows.count` matrix.
    public func transposedBlock(rows rowRange: Range<Int>, cols colRange: Range<Int>) -> Matrix {
        precondition(rowRange.lowerBound >= 0 && rowRange.upperBound <= rows
                     && colRange.lowerBound >= 0 && colRange.upperBound <= cols, "transposedBlock: range out of bounds")
        let n = rowRange.count, k = colRange.count
        var out = Matrix(rows: k, cols: n)
        let ld = cols
        elements.withUnsafeBufferPointer { src in
            out.elements.withUnsafeMutableBufferPointer { dst in
                for (i, r) in rowRange.enumerated() {
                    let base = r * ld + colRange.lowerBound
                    for j in 0..<k { dst[j * n + i] = src[base + j] }
                }
            }
        }
        return out
    }

    /// Writes `block`ᵀ (a `c × r` matrix) into `self[rowStart ..< rowStart + r, colStart ..< colStart + c]`.
    public mutating func setTransposedBlock(_ block: Matrix, rowStart: Int, colStart: Int) {
        let n = block.cols, k = block.rows
        precondition(rowStart >= 0 && rowStart + n <= rows && colStart >= 0 && colStart + k <= cols,
                     "setTransposedBlock: block out of bounds")
        let ld = cols
        block.elements.withUnsafeBufferPointer { src in
            elements.withUnsafeMutableBufferPointer { dst in
                for i in 0..<n {
                    let base = (rowStart + i) * ld + colStart
                    for j in 0..<k { dst[base + j] = src[j * n + i] }
                }
            }
        }
    }

    /// `self[j, :] −= coefficients[j − rows.lowerBound] · vector` for `j` in `rows`: the OBS
    /// update of the tile's later columns (rows of the transposed tile) by one column's error.
    /// The product is rounded, then subtracted, as the reference's `W1[:, i:] -= err ⊗ Hinv1[i, i:]`
    /// does (no fused multiply-add).
    public mutating func subtractScaledVector(_ vector: [Float], coefficients: ArraySlice<Float>, rows rowRange: Range<Int>) {
        precondition(vector.count == cols && coefficients.count == rowRange.count
                     && rowRange.lowerBound >= 0 && rowRange.upperBound <= rows, "subtractScaledVector: shape mismatch")
        let n = cols
        vector.withUnsafeBufferPointer { v in
            coefficients.withUnsafeBufferPointer { a in
                elements.withUnsafeMutableBufferPointer { p in
                    for (i, j) in rowRange.enumerated() {
                        let s = a[i]
                        let row = p.baseAddress! + j * n
                        for r in 0..<n { row[r] -= s * v[r] }
                    }
                }
            }
        }
    }

    /// `self[rows, start ..< start + bCols.count] −= aTᵀ · b[bRows, bCols]`, one `cblas_sgemm`
    /// reading `b` in place: SparseGPT's lazy batch update of one panel, `aT` being the panel's
    /// errors held transposed (`bRows.count × rows.count`).
    public mutating func subtractTransposedProduct(_ aT: Matrix, _ b: Matrix, bRows: Range<Int>, bCols: Range<Int>,
                                                   rows rowRange: Range<Int>, startingAtColumn start: Int) {
        precondition(aT.rows == bRows.count && aT.cols == rowRange.count && bRows.upperBound <= b.rows
                     && bCols.upperBound <= b.cols && rowRange.upperBound <= rows && start + bCols.count <= cols,
                     "subtractTransposedProduct: shape mismatch")
        let m = rowRange.count, n = bCols.count, k = bRows.count
        if m == 0 || n == 0 || k == 0 { return }
        let ld = cols
        aT.elements.withUnsafeBufferPointer { pa in
            b.elements.withUnsafeBufferPointer { pb in
                elements.withUnsafeMutableBufferPointer { pc in
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), -1,
                                pa.baseAddress, Int32(m), pb.baseAddress! + bRows.lowerBound * b.cols + bCols.lowerBound,
                                Int32(b.cols), 1, pc.baseAddress! + rowRange.lowerBound * ld + start, Int32(ld))
                }
            }
        }
    }
}

extension Matrix {
    /// One column of the OBS sweep on a transposed tile (`self`, `tile × rows`): for each row `r`
    /// of the panel with `pruned[r]`, the error `self[column, r] / divisor` is written to
    /// `errors[column, r]` and the weight zeroed (kept rows get error 0); then the later columns
    /// take the update `self[j, :] −= coefficients[j − column − 1] · error` (`subtractScaledVector`).
    public mutating func eliminateColumn(_ column: Int, pruned: [Bool], divisor: Float, coefficients: ArraySlice<Float>,
                                         errors: inout Matrix) {
        let n = cols
        precondition(pruned.count == n && errors.cols == n && errors.rows == rows && column < rows
                     && coefficients.count == rows - column - 1, "eliminateColumn: shape mismatch")
        pruned.withUnsafeBufferPointer { flags in
            errors.elements.withUnsafeMutableBufferPointer { e in
                elements.withUnsafeMutableBufferPointer { p in
                    let w = p.baseAddress! + column * n, err = e.baseAddress! + column * n
                    for r in 0..<n {
                        if flags[r] {
                            err[r] = w[r] / divisor
                            w[r] = 0
                        } else {
                            err[r] = 0
                        }
                    }
                    coefficients.withUnsafeBufferPointer { a in
                        for i in 0..<a.count {
                            let s = a[i], row = w + (i + 1) * n
                            for r in 0..<n { row[r] -= s * err[r] }
                        }
                    }
                }
            }
        }
    }
}

extension Matrix {
    /// SparseGPT's tile scores `self[r, c]² / diagonal[c − cols.lowerBound]²` for every row, row-major
    /// (`rows × cols.count`), computed as the reference does: square over square, one division.
    public func obsScores(cols colRange: Range<Int>, diagonal: [Float]) -> [Float] {
        precondition(colRange.upperBound <= cols && diagonal.count == colRange.count, "obsScores: shape mismatch")
        let k = colRange.count, ld = cols
        var out = [Float](repeating: 0, count: rows * k)
        diagonal.withUnsafeBufferPointer { d in
            elements.withUnsafeBufferPointer { p in
                out.withUnsafeMutableBufferPointer { o in
                    for r in 0..<rows {
                        let row = p.baseAddress! + r * ld + colRange.lowerBound, dst = o.baseAddress! + r * k
                        for c in 0..<k { dst[c] = (row[c] * row[c]) / (d[c] * d[c]) }
                    }
                }
            }
        }
        return out
    }
}
