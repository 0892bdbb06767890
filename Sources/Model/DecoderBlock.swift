import Tensor

/// Shapes of one LLaMA-family architecture, the part of config.json the forward pass needs.
public struct BlockShape: Sendable, Equatable {
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var rmsNormEpsilon: Float

    public init(hiddenSize: Int, intermediateSize: Int, heads: Int, kvHeads: Int, headDim: Int, rmsNormEpsilon: Float) {
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.rmsNormEpsilon = rmsNormEpsilon
    }

    /// Expected (rows, cols) of each linear, used to reject a checkpoint whose tensors disagree
    /// with its config before any arithmetic runs.
    public func weightShape(_ linear: BlockLinear) -> (rows: Int, cols: Int) {
        switch linear {
        case .q: (heads * headDim, hiddenSize)
        case .k, .v: (kvHeads * headDim, hiddenSize)
        case .o: (hiddenSize, heads * headDim)
        case .gate, .up: (intermediateSize, hiddenSize)
        case .down: (hiddenSize, intermediateSize)
        }
    }

    public var parameterCount: Int {
        BlockLinear.allCases.reduce(2 * hiddenSize) { $0 + weightShape($1).rows * weightShape($1).cols }
    }
}

/// One decoder block (ALGORITHMS.md §1.1). Weights are float32 in checkpoint layout and mutable,
/// because pruning overwrites them in place before the block is run again.
public struct DecoderBlock: Sendable {
    public let index: Int
    public let shape: BlockShape
    public var weights: [BlockLinear: Matrix]
    public var inputNorm: [Float]
    public var postAttentionNorm: [Float]

    public init(index: Int, shape: BlockShape, weights: [BlockLinear: Matrix], inputNorm: [Float],
                postAttentionNorm: [Float]) {
        self.index = index
        self.shape = shape
        self.weights = weights
        self.inputNorm = inputNorm
        self.postAttentionNorm = postAttentionNorm
    }

    public static func load(index: Int, shape: BlockShape, from source: some WeightSource) throws -> DecoderBlock {
        var weights: [BlockLinear: Matrix] = [:]
        for linear in BlockLinear.allCases {
            let name = linear.weightName(block: index)
            let m = try source.matrix(name)
            let want = shape.weightShape(linear)
            guard m.rows == want.rows && m.cols == want.cols else {
                throw ModelError.shapeMismatch(tensor: name, expected: [want.rows, want.cols], found: [m.rows, m.cols])
            }
            weights[linear] = m
        }
        func vector(_ name: String) throws -> [Float] {
            let m = try source.matrix(name)
            guard m.count == shape.hiddenSize else {
                throw ModelError.shapeMismatch(tensor: name, expected: [shape.hiddenSize], found: [m.rows, m.cols])
            }
            return m.elements
        }
        return DecoderBlock(index: index, shape: shape, weights: weights,
                            inputNorm: try vector(ModelTensorName.inputNorm(block: index)),
                            postAttentionNorm: try vector(ModelTensorName.postAttentionNorm(block: index)))
    }

    public func weight(_ linear: BlockLinear) -> Matrix {
        guard let w = weights[linear] else { preconditionFailure("block \(index): \(linear.rawValue) not loaded") }
        return w
    }

    /// Runs the block on one window's hidden states (tokens × hidden, positions 0…tokens-1).
    /// `observe` sees each distinct linear input once, in block order, before it is multiplied —
    /// the hook through which calibration statistics are gathered (DESIGN.md §3 "Statistics").
    public func forward(_ h: Matrix, rope: RoPETable, observe: ((LinearInput, Matrix) -> Void)? = nil) -> Matrix {
        var (h1, z) = residualAndIntermediate(h, rope: rope, observe: observe)
        h1.add(z.linear(weight(.down)))
        return h1
    }

    /// Shows `observe` all four linear inputs without computing the block's output: a statistics
    /// pass whose output is discarded skips the down projection and the last residual (~20% of
    /// the block's FLOPs at SmolLM2's shapes).
    public func observeInputs(_ h: Matrix, rope: RoPETable, observe: (LinearInput, Matrix) -> Void) {
        _ = withoutActuallyEscaping(observe) { f in residualAndIntermediate(h, rope: rope, observe: f) }
    }

    /// Everything up to the down projection: the attention residual h' and the SwiGLU output z.
    private func residualAndIntermediate(_ h: Matrix, rope: RoPETable,
                                         observe: ((LinearInput, Matrix) -> Void)?) -> (Matrix, Matrix) {
        let a = h.rmsNormalized(weight: inputNorm, epsilon: shape.rmsNormEpsilon)
        observe?(.attention, a)
        var q = a.linear(weight(.q))
        var k = a.linear(weight(.k))
        let v = a.linear(weight(.v))
        rope.apply(to: &q, heads: shape.heads)
        rope.apply(to: &k, heads: shape.kvHeads)
        let attended = Attention.causal(q: q, k: k, v: v, heads: shape.heads, kvHeads: shape.kvHeads,
                                        headDim: shape.headDim)
        observe?(.attentionOutput, attended)
        var h1 = h
        h1.add(attended.linear(weight(.o)))
        let b = h1.rmsNormalized(weight: postAttentionNorm, epsilon: shape.rmsNormEpsilon)
        observe?(.mlp, b)
        let z = Matrix.swiglu(gate: b.linear(weight(.gate)), up: b.linear(weight(.up)))
        observe?(.down, z)
        return (h1, z)
    }

    /// Floating-point operations of one forward pass over `tokens` tokens (multiply-adds count 2),
    /// counting the attention products as `Attention.causal` computes them (query chunks against
    /// the keys up to their last row).
    public func flops(tokens: Int) -> Double {
        let t = Double(tokens)
        let linear = BlockLinear.allCases.reduce(0.0) { acc, l in
            let s = shape.weightShape(l)
            return acc + 2 * t * Double(s.rows * s.cols)
        }
        let attention = 2 * Double(shape.heads * Attention.productPairs(tokens: tokens, headDim: shape.headDim))
        return linear + attention
    }
}
