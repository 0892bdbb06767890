import CBLAS

/// The backward pass of `Attention.causal`, for training one decoder layer (LLM-Streamline).
/// The probabilities are recomputed per head and query chunk with exactly the forward's calls
/// (the same score product, scale, maximum, exponentials and normalisation over the same key
/// span), so the gradient is that of the attention the forward ran, mask and sliding window
/// included, and no tokens × tokens × heads tensor is ever stored. Per chunk, with P the
/// probabilities, O = P·V and s the 1/sqrt(d) scale applied after the score product:
///
///     dP = dO·Vᵀ    dV += Pᵀ·dO    dS = P ⊙ (dP − rowsum(dP ⊙ P))
///     dQ = s·dS·K   dK += s·dSᵀ·Q
///
/// Masked positions have P = 0 and so dS = 0: they receive no gradient, as in torch, where the
/// mask is an additive −∞ before softmax. Key/value heads shared by a group of query heads
/// (GQA) accumulate the group's contributions in head order, chunks in order: a fixed order,
/// so the bits depend only on the inputs.
extension Attention {
    public static func causalBackward(q: Matrix, k: Matrix, v: Matrix, outputGradient dO: Matrix, heads: Int, kvHeads: Int,
                                      headDim: Int, window: Int? = nil,
                                      queryChunk: Int = defaultQueryChunk) -> (q: Matrix, k: Matrix, v: Matrix) {
        let tokens = q.rows
        precondition(q.cols == heads * headDim && k.cols == kvHeads * headDim && v.cols == kvHeads * headDim,
                      "attention backward: projection widths do not match \(heads)/\(kvHeads) heads of \(headDim)")
        precondition(heads % kvHeads == 0, "attention backward: \(heads) heads not a multiple of \(kvHeads) kv heads")
        precondition(k.rows == tokens && v.rows == tokens && dO.rows == tokens && dO.cols == q.cols,
                     "attention backward: token counts or widths differ")
        precondition(queryChunk > 0, "attention backward: query chunk must be positive")
        precondition(window.map { $0 > 0 } ?? true, "attention backward: window must be positive")
        let group = heads / kvHeads
        let scale = 1 / Float(headDim).squareRoot()
        var dq = Matrix(rows: tokens, cols: q.cols)
        var dk = Matrix(rows: tokens, cols: k.cols)
        var dv = Matrix(rows: tokens, cols: v.cols)
        let chunk = min(queryChunk, max(tokens, 1))
        var probabilities = [Float](repeating: 0, count: chunk * tokens)
        var dScores = [Float](repeating: 0, count: chunk * tokens)
        let ldq = Int32(q.cols), ldk = Int32(k.cols)
        q.elements.withUnsafeBufferPointer { qp in
        k.elements.withUnsafeBufferPointer { kp in
        v.elements.withUnsafeBufferPointer { vp in
        dO.elements.withUnsafeBufferPointer { gp in
        dq.elements.withUnsafeMutableBufferPointer { dqp in
        dk.elements.withUnsafeMutableBufferPointer { dkp in
        dv.elements.withUnsafeMutableBufferPointer { dvp in
        probabilities.withUnsafeMutableBufferPointer { sp in
        dScores.withUnsafeMutableBufferPointer { dp in
            for h in 0..<heads {
                let kvh = h / group
                for first in stride(from: 0, to: tokens, by: chunk) {
                    let rows = min(chunk, tokens - first), keys = first + rows
                    let lo = window.map { max(0, first - $0 + 1) } ?? 0
                    let span = keys - lo
                    let ld = Int32(span)
                    let qChunk = qp.baseAddress! + first * q.cols + h * headDim
                    let gChunk = gp.baseAddress! + first * dO.cols + h * headDim
                    let kSpan = kp.baseAddress! + lo * k.cols + kvh * headDim
                    let vSpan = vp.baseAddress! + lo * v.cols + kvh * headDim
                    // P, exactly as the forward computes it.
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(span), Int32(headDim), 1,
                                qChunk, ldq, kSpan, ldk, 0, sp.baseAddress!, ld)
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
                    // dP = dO·Vᵀ.
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(span), Int32(headDim), 1,
                                gChunk, Int32(dO.cols), vSpan, ldk, 0, dp.baseAddress!, ld)
                    // dV += Pᵀ·dO.
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(span), Int32(headDim), Int32(rows), 1,
                                sp.baseAddress!, ld, gChunk, Int32(dO.cols), 1, dvp.baseAddress! + lo * v.cols + kvh * headDim, ldk)
                    // dS = P ⊙ (dP − rowsum(dP ⊙ P)), times the scale; masked entries become exact zeros.
                    for r in 0..<rows {
                        let i = first + r
                        let p = sp.baseAddress! + r * span, d = dp.baseAddress! + r * span
                        let start = window.map { max(0, i - $0 + 1 - lo) } ?? 0, end = i - lo
                        var dot = 0.0
                        for j in start...end { dot += Double(p[j]) * Double(d[j]) }
                        let c = Float(dot)
                        if start > 0 { d.update(repeating: 0, count: start) }
                        for j in start...end { d[j] = p[j] * (d[j] - c) * scale }
                        if end + 1 < span { (d + end + 1).update(repeating: 0, count: span - end - 1) }
                    }
                    // dQ = s·dS·K (each query head's chunk rows are written once).
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(headDim), Int32(span), 1,
                                dp.baseAddress!, ld, kSpan, ldk, 0, dqp.baseAddress! + first * q.cols + h * headDim, ldq)
                    // dK += s·dSᵀ·Q.
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(span), Int32(headDim), Int32(rows), 1,
                                dp.baseAddress!, ld, qChunk, ldq, 1, dkp.baseAddress! + lo * k.cols + kvh * headDim, ldk)
                }
            }
        }}}}}}}}}
        return (dq, dk, dv)
    }
}
