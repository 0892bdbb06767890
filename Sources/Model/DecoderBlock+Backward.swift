import Tensor

/// Training support for one decoder block (LLM-Streamline trains a single replacement layer,
/// docs/algorithms.md "LLM-Streamline"): a forward pass that keeps what the backward needs, and
/// the backward pass itself, over BLAS, differentiating exactly the float32 operations of
/// `forward` — RMSNorm, q/k/v (with Qwen2's biases), Qwen3's per-head q/k RMSNorm, RoPE from the
/// same table, causal softmax attention with GQA and the block's sliding window, o, the
/// residual, RMSNorm, SwiGLU, down and the second residual.
extension DecoderBlock {
    /// Activations of one window saved by `forwardForTraining`: tokens · (5·hidden + q width +
    /// 2·kv width + 3·intermediate) floats, q and k once more with Qwen3's norms. The attention
    /// probabilities are recomputed by the backward, never stored.
    public struct Tape: Sendable {
        let input: Matrix
        let normedInput: Matrix
        /// q and k before Qwen3's q/k norm (nil without it).
        let queryBeforeNorm: Matrix?
        let keyBeforeNorm: Matrix?
        /// q and k as attention read them (normed and rotated).
        let query: Matrix
        let key: Matrix
        let value: Matrix
        let attended: Matrix
        let residual: Matrix
        let normedResidual: Matrix
        let gate: Matrix
        let up: Matrix
        let intermediate: Matrix
    }

    /// The block's output, bit-identical to `forward` (the same calls in the same order), and
    /// the tape for `backward`.
    public func forwardForTraining(_ h: Matrix, rope: RoPETable) -> (output: Matrix, tape: Tape) {
        let a = h.rmsNormalized(weight: inputNorm, epsilon: shape.rmsNormEpsilon)
        var q = trainingProjection(.q, a)
        var k = trainingProjection(.k, a)
        let v = trainingProjection(.v, a)
        var qRaw: Matrix?, kRaw: Matrix?
        if let queryNorm, let keyNorm {
            qRaw = q
            kRaw = k
            q = q.headwiseRMSNormalized(headDim: shape.headDim, weight: queryNorm, epsilon: shape.rmsNormEpsilon)
            k = k.headwiseRMSNormalized(headDim: shape.headDim, weight: keyNorm, epsilon: shape.rmsNormEpsilon)
        }
        rope.apply(to: &q, heads: shape.heads)
        rope.apply(to: &k, heads: shape.kvHeads)
        let attended = Attention.causal(q: q, k: k, v: v, heads: shape.heads, kvHeads: shape.kvHeads,
                                        headDim: shape.headDim, window: shape.attentionWindow(block: index))
        var h1 = attended.linear(weight(.o))
        h1.add(h)
        let b = h1.rmsNormalized(weight: postAttentionNorm, epsilon: shape.rmsNormEpsilon)
        let gate = b.linear(weight(.gate))
        let up = b.linear(weight(.up))
        var z = gate
        z.applySwiGLU(up: up)
        var out = h1
        out.add(z.linear(weight(.down)))
        let tape = Tape(input: h, normedInput: a, queryBeforeNorm: qRaw, keyBeforeNorm: kRaw, query: q, key: k, value: v,
                        attended: attended, residual: h1, normedResidual: b, gate: gate, up: up, intermediate: z)
        return (out, tape)
    }

    /// Gradients of a loss with respect to the block's input and every parameter, given the
    /// loss's gradient `dy` with respect to the block's output on the window `tape` recorded.
    /// `rope` must be the table the forward used. Weight gradients are dYᵀ·X products over the
    /// window's tokens (sgemm); norm-weight and bias gradients sum over tokens in float64.
    public func backward(_ tape: Tape, outputGradient dy: Matrix, rope: RoPETable) -> (input: Matrix, parameters: DecoderBlockGradients) {
        precondition(dy.rows == tape.input.rows && dy.cols == shape.hiddenSize, "block \(index) backward: gradient shape differs from the output")
        var dW: [BlockLinear: Matrix] = [:]
        // out = h1 + down(z)
        let dz = dy.matmul(weight(.down))
        dW[.down] = Self.weightGradient(dy, tape.intermediate)
        let (dGate, dUp) = Matrix.swigluBackward(gate: tape.gate, up: tape.up, outputGradient: dz)
        dW[.gate] = Self.weightGradient(dGate, tape.normedResidual)
        dW[.up] = Self.weightGradient(dUp, tape.normedResidual)
        var db = dGate.matmul(weight(.gate))
        db.add(dUp.matmul(weight(.up)))
        let post = tape.residual.rmsNormBackward(weight: postAttentionNorm, epsilon: shape.rmsNormEpsilon, outputGradient: db)
        var dh1 = post.input
        dh1.add(dy)
        // h1 = h + o(attended)
        let dAttended = dh1.matmul(weight(.o))
        dW[.o] = Self.weightGradient(dh1, tape.attended)
        var (dq, dk, dv) = Attention.causalBackward(q: tape.query, k: tape.key, v: tape.value, outputGradient: dAttended,
                                                    heads: shape.heads, kvHeads: shape.kvHeads, headDim: shape.headDim,
                                                    window: shape.attentionWindow(block: index))
        rope.applyTransposed(to: &dq, heads: shape.heads)
        rope.applyTransposed(to: &dk, heads: shape.kvHeads)
        var dQueryNorm: [Float]?, dKeyNorm: [Float]?
        if let queryNorm, let keyNorm, let qRaw = tape.queryBeforeNorm, let kRaw = tape.keyBeforeNorm {
            let qn = qRaw.headwiseRMSNormBackward(headDim: shape.headDim, weight: queryNorm, epsilon: shape.rmsNormEpsilon, outputGradient: dq)
            let kn = kRaw.headwiseRMSNormBackward(headDim: shape.headDim, weight: keyNorm, epsilon: shape.rmsNormEpsilon, outputGradient: dk)
            dq = qn.input
            dk = kn.input
            dQueryNorm = qn.weight
            dKeyNorm = kn.weight
        }
        var dBias: [BlockLinear: [Float]] = [:]
        for (linear, g) in [(BlockLinear.q, dq), (.k, dk), (.v, dv)] where biases[linear] != nil {
            dBias[linear] = g.columnSumsInDouble()
        }
        dW[.q] = Self.weightGradient(dq, tape.normedInput)
        dW[.k] = Self.weightGradient(dk, tape.normedInput)
        dW[.v] = Self.weightGradient(dv, tape.normedInput)
        var da = dq.matmul(weight(.q))
        da.add(dk.matmul(weight(.k)))
        da.add(dv.matmul(weight(.v)))
        let pre = tape.input.rmsNormBackward(weight: inputNorm, epsilon: shape.rmsNormEpsilon, outputGradient: da)
        var dh = pre.input
        dh.add(dh1)
        let grads = DecoderBlockGradients(weights: dW, inputNorm: pre.weight, postAttentionNorm: post.weight, biases: dBias,
                                          queryNorm: dQueryNorm, keyNorm: dKeyNorm)
        return (dh, grads)
    }

    /// `x · Wᵀ (+ b)` as `forward` computes it (the bias added after the product).
    private func trainingProjection(_ linear: BlockLinear, _ x: Matrix) -> Matrix {
        var y = x.linear(weight(linear))
        if let b = biases[linear] { y.addToEveryRow(b) }
        return y
    }

    /// dW = dYᵀ·X for y = x·Wᵀ (out × in, the checkpoint layout).
    private static func weightGradient(_ dY: Matrix, _ x: Matrix) -> Matrix {
        var g = Matrix(rows: dY.cols, cols: x.cols)
        Matrix.gemm(dY, transposeA: true, x, transposeB: false, into: &g)
        return g
    }
}
