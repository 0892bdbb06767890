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
///
/// A sliding window `w` (Mistral, Qwen2/3 `sliding_attention` blocks) keeps, for query i, the
/// keys j with i − w < j ≤ i (transformers' `sliding_window_overlay`: `kv_idx > q_idx - w`); each
/// chunk then starts its keys at the first one its first row sees. Without a window, or with one
/// no shorter than the window length, the arithmetic is exactly that of plain causal attention.
public enum Attention {
    public static let defaultQueryChunk = 128

    public static func causal(q: Matrix, k: Matrix, v: Matrix, heads: Int, kvHeads: Int, headDim: Int,
                              window: Int? = nil, queryChunk: Int = defaultQueryChunk,
                              profile: KernelProfile? = nil) -> Matrix {
        let tokens = q.rows
        precondition(q.cols == heads * headDim && k.cols == kvHeads * headDim && v.cols == kvHeads * headDim,
                      "attention: projection widths do not match \(heads)/\(kvHeads) heads of \(headDim)")
        precondition(heads % kvHeads == 0, "attention: \(heads) heads not a multiple of \(kvHeads) kv heads")
        precondition(k.rows == tokens && v.rows == tokens, "attention: token counts differ")
        precondition(queryChunk > 0, "attention: query chunk must be positive")
        precondition(window.map { $0 > 0 } ?? true, "attention: window must be positive")
        let group = heads / kvHeads
        let scale = 1 / Float(headDim).squareRoot()
        var out = Matrix(uninitializedRows: tokens, cols: heads * headDim)
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
                                    let lo = window.map { max(0, first - $0 + 1) } ?? 0
                                    let span = keys - lo
                                    let ld = Int32(span)
                                    var clock = profile.map { _ in ThreadClock.nanoseconds() } ?? 0
                                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans,
                                                Int32(rows), Int32(span), Int32(headDim), 1,
                                                qp.baseAddress! + first * q.cols + h * headDim, ldq,
                                                kp.baseAddress! + lo * k.cols + kvh * headDim, ldk,
                                                0, sp.baseAddress!, ld)
                                    if let profile { profile.add("attention scores", seconds: Self.lap(&clock)) }
                                    for r in 0..<rows {
                                        let i = first + r
                                        let row = sp.baseAddress! + r * span
                                        let start = window.map { max(0, i - $0 + 1 - lo) } ?? 0, end = i - lo
                                        let live = UnsafeMutableBufferPointer(start: row + start, count: end - start + 1)
                                        let m = FastMath.scaleAndMaximum(live, scale: scale)
                                        let sum = FastMath.expSubtractInPlace(live, shift: m)
                                        FastMath.scale(live, by: 1 / sum)
                                        if start > 0 { row.update(repeating: 0, count: start) }
                                        if end + 1 < span { (row + end + 1).update(repeating: 0, count: span - end - 1) }
                                    }
                                    if let profile { profile.add("softmax", seconds: Self.lap(&clock)) }
                                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                                                Int32(rows), Int32(headDim), ld, 1,
                                                sp.baseAddress!, ld,
                                                vp.baseAddress! + lo * v.cols + kvh * headDim, ldk,
                                                0, op.baseAddress! + first * out.cols + h * headDim, ldo)
                                    if let profile { profile.add("attention weighted sum", seconds: Self.lap(&clock)) }
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Seconds since `clock` (nanoseconds), and `clock` moved to now.
    private static func lap(_ clock: inout UInt64) -> Double {
        let now = ThreadClock.nanoseconds()
        defer { clock = now }
        return Double(now - clock) * 1e-9
    }

    /// Multiply-add pairs of both attention products of one head over `tokens` tokens, as
    /// `causal` computes them (each query chunk against the keys up to its last row).
    public static func productPairs(tokens: Int, headDim: Int, window: Int? = nil,
                                    queryChunk: Int = defaultQueryChunk) -> Int {
        let chunk = min(queryChunk, max(tokens, 1))
        var pairs = 0
        for first in stride(from: 0, to: tokens, by: chunk) {
            let rows = min(chunk, tokens - first)
            let lo = window.map { max(0, first - $0 + 1) } ?? 0
            pairs += 2 * rows * (first + rows - lo) * headDim
        }
        return pairs
    }
}
