import CBLAS

/// Causal grouped-query attention, one head at a time, so no more than one L×L score matrix is
/// alive (issue 3: memory must not grow with the number of heads). Matches transformers'
/// `eager_attention_forward`: scores = q·kᵀ, scaled by 1/sqrt(d) after the product, causal
/// mask, float32 softmax, then ·v. Query head h reads key/value head h / (heads / kvHeads).
public enum Attention {
    public static func causal(q: Matrix, k: Matrix, v: Matrix, heads: Int, kvHeads: Int, headDim: Int) -> Matrix {
        let tokens = q.rows
        precondition(q.cols == heads * headDim && k.cols == kvHeads * headDim && v.cols == kvHeads * headDim,
                      "attention: projection widths do not match \(heads)/\(kvHeads) heads of \(headDim)")
        precondition(heads % kvHeads == 0, "attention: \(heads) heads not a multiple of \(kvHeads) kv heads")
        precondition(k.rows == tokens && v.rows == tokens, "attention: token counts differ")
        let group = heads / kvHeads
        let scale = 1 / Float(headDim).squareRoot()
        var out = Matrix(rows: tokens, cols: heads * headDim)
        var scores = [Float](repeating: 0, count: tokens * tokens)
        let ldq = Int32(q.cols), ldk = Int32(k.cols), ldo = Int32(out.cols)
        q.elements.withUnsafeBufferPointer { qp in
            k.elements.withUnsafeBufferPointer { kp in
                v.elements.withUnsafeBufferPointer { vp in
                    out.elements.withUnsafeMutableBufferPointer { op in
                        scores.withUnsafeMutableBufferPointer { sp in
                            for h in 0..<heads {
                                let kvh = h / group
                                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
                                            Int32(tokens), Int32(tokens), Int32(headDim), 1,
                                            qp.baseAddress! + h * headDim, ldq,
                                            kp.baseAddress! + kvh * headDim, ldk,
                                            0, sp.baseAddress!, Int32(tokens))
                                for i in 0..<tokens {
                                    let row = sp.baseAddress! + i * tokens
                                    var m = -Float.infinity
                                    for j in 0...i {
                                        row[j] *= scale
                                        if row[j] > m { m = row[j] }
                                    }
                                    let live = UnsafeMutableBufferPointer(start: row, count: i + 1)
                                    let sum = FastMath.expSubtractInPlace(live, shift: m)
                                    let inv = 1 / sum
                                    for j in 0...i { row[j] *= inv }
                                    if i + 1 < tokens {
                                        (row + i + 1).update(repeating: 0, count: tokens - i - 1)
                                    }
                                }
                                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                                            Int32(tokens), Int32(headDim), Int32(tokens), 1,
                                            sp.baseAddress!, Int32(tokens),
                                            vp.baseAddress! + kvh * headDim, ldk,
                                            0, op.baseAddress! + h * headDim, ldo)
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}
