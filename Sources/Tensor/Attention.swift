import CBLAS

/// Causal grouped-query attention, one head at a time, so no more than one head's scores are
/// alive (issue 3: memory must not grow with the number of heads). Matches transformers'
/// `eager_attention_forward`: scores = q·kᵀ, scaled by 1/sqrt(d) after the product, causal
/// mask, float32 softmax, then ·v. Query head h reads key/value head h / (heads / kvHeads).
///
/// Queries go in chunks of `queryChunk` rows, and a chunk ending at row r multiplies only keys
/// 0..<r: the causal mask makes the rest zero, so skipping them saves almost half of the two
/// attention products (at L = 512 about 7% of a block's FLOPs) and keeps the score buffer at
/// `queryChunk × L`. Masked positions contributed exact zeros before, so only the summation
/// order of the kept terms can change, and it is the same on every rank.
public enum Attention {
    public static let defaultQueryChunk = 128

    public static func causal(q: Matrix, k: Matrix, v: Matrix, heads: Int, kvHeads: Int, headDim: Int,
                              queryChunk: Int = defaultQueryChunk) -> Matrix {
        let tokens = q.rows
        precondition(q.cols == heads * headDim && k.cols == kvHeads * headDim && v.cols == kvHeads * headDim,
                      "attention: projection widths do not match \(heads)/\(kvHeads) heads of \(headDim)")
        precondition(heads % kvHeads == 0, "attention: \(heads) heads not a multiple of \(kvHeads) kv heads")
        precondition(k.rows == tokens && v.rows == tokens, "attention: token counts differ")
        precondition(queryChunk > 0, "attention: query chunk must be positive")
        let group = heads / kvHeads
        let scale = 1 / Float(headDim).squareRoot()
        var out = Matrix(rows: tokens, cols: heads * headDim)
        let chunk = min(queryChunk, max(tokens, 1))
        var scores = [Float](repeating: 0, count: chunk * tokens)
        let ldq = Int32(q.cols), ldk = Int32(k.cols), ldo = Int32(out.cols)
        q.elements.withUnsafeBufferPointer { qp in
            k.elements.withUnsafeBufferPointer { kp in
                v.elements.withUnsafeBufferPointer { vp in
                    out.elements.withUnsafeMutableBufferPointer { op in
                        scores.withUnsafeMutableBufferPointer { sp in
                            for h in 0..<heads {
                                let kvh = h / group
                                for first in stride(from: 0, to: tokens, by: chunk) {
                                    let rows = min(chunk, tokens - first), keys = first + rows
                                    let ld = Int32(keys)
                                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
                                                Int32(rows), Int32(keys), Int32(headDim), 1,
                                                qp.baseAddress! + first * q.cols + h * headDim, ldq,
                                                kp.baseAddress! + kvh * headDim, ldk,
                                                0, sp.baseAddress!, ld)
                                    for r in 0..<rows {
                                        let i = first + r
                                        let row = sp.baseAddress! + r * keys
                                        var m = -Float.infinity
                                        for j in 0...i {
                                            row[j] *= scale
                                            if row[j] > m { m = row[j] }
                                        }
                                        let live = UnsafeMutableBufferPointer(start: row, count: i + 1)
                                        let sum = FastMath.expSubtractInPlace(live, shift: m)
                                        let inv = 1 / sum
                                        for j in 0...i { row[j] *= inv }
                                        if i + 1 < keys { (row + i + 1).update(repeating: 0, count: keys - i - 1) }
                                    }
                                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                                                Int32(rows), Int32(headDim), ld, 1,
                                                sp.baseAddress!, ld,
                                                vp.baseAddress! + kvh * headDim, ldk,
                                                0, op.baseAddress! + first * out.cols + h * headDim, ldo)
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Multiply-add pairs of both attention products of one head over `tokens` tokens, as
    /// `causal` computes them (each query chunk against the keys up to its last row).
    public static func productPairs(tokens: Int, headDim: Int, queryChunk: Int = defaultQueryChunk) -> Int {
        let chunk = min(queryChunk, max(tokens, 1))
        var pairs = 0
        for first in stride(from: 0, to: tokens, by: chunk) {
            let rows = min(chunk, tokens - first)
            pairs += 2 * rows * (first + rows) * headDim
        }
        return pairs
    }
}
