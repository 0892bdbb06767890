import Tensor

/// Shapes of one LLaMA-family architecture, the part of config.json the forward pass needs,
/// including the per-family attention details (`ModelFamily` says which family has which).
public struct BlockShape: Sendable, Equatable {
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var rmsNormEpsilon: Float
    /// q/k/v add a bias after the product (Qwen2). Biases are kept and written unchanged.
    public var queryKeyValueBias: Bool
    /// RMSNorm over each head of q and k before RoPE, with its own weights (Qwen3).
    public var queryKeyNorm: Bool
    /// Sliding-window attention: the window, and the blocks that use it.
    public var slidingWindow: Int?
    public var slidingBlocks: [Int]

    public init(hiddenSize: Int, intermediateSize: Int, heads: Int, kvHeads: Int, headDim: Int, rmsNormEpsilon: Float,
                queryKeyValueBias: Bool = false, queryKeyNorm: Bool = false, slidingWindow: Int? = nil, slidingBlocks: [Int] = []) {
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.rmsNormEpsilon = rmsNormEpsilon
        self.queryKeyValueBias = queryKeyValueBias
        self.queryKeyNorm = queryKeyNorm
        self.slidingWindow = slidingWindow
        self.slidingBlocks = slidingBlocks
    }

    /// The attention window of block `index`, nil for plain causal attention.
    public func attentionWindow(block index: Int) -> Int? {
        guard let w = slidingWindow, slidingBlocks.contains(index) else { return nil }
        return w
    }

    /// The linears that carry a bias.
    public var biasedLinears: [BlockLinear] { queryKeyValueBias ? [.q, .k, .v] : [] }

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
        let vectors = 2 * hiddenSize + (queryKeyNorm ? 2 * headDim : 0) + biasedLinears.reduce(0) { $0 + weightShape($1).rows }
        return BlockLinear.allCases.reduce(vectors) { $0 + weightShape($1).rows * weightShape($1).cols }
    }
}

/// One decoder block (docs/algorithms.md §1.1). Weights are float32 in checkpoint layout and mutable,
/// because pruning overwrites them in place before the block is run again.
public struct DecoderBlock: Sendable {
    public let index: Int
    public let shape: BlockShape
    public var weights: [BlockLinear: Matrix]
    public var inputNorm: [Float]
    public var postAttentionNorm: [Float]
    /// Biases of the linears in `shape.biasedLinears`; never pruned.
    public var biases: [BlockLinear: [Float]]
    /// Qwen3's q/k norm weights (headDim each), nil without them.
    public var queryNorm: [Float]?
    public var keyNorm: [Float]?

    public init(index: Int, shape: BlockShape, weights: [BlockLinear: Matrix], inputNorm: [Float],
                postAttentionNorm: [Float], biases: [BlockLinear: [Float]] = [:], queryNorm: [Float]? = nil,
                keyNorm: [Float]? = nil) {
        self.index = index
        self.shape = shape
        self.weights = weights
        self.inputNorm = inputNorm
        self.postAttentionNorm = postAttentionNorm
        self.biases = biases
        self.queryNorm = queryNorm
        self.keyNorm = keyNorm
    }

    /// Reads and converts the block's weights; the seven linears on up to `threads` threads (each
    /// a whole tensor, converted by the same code on any thread). An error is the first linear's
    /// in block order, as a serial read would report it.
    public static func load(index: Int, shape: BlockShape, from source: some WeightSource, threads: Int = 1) throws -> DecoderBlock {
        let linears = BlockLinear.allCases
        // Sources are read-only once opened (CheckpointDirectory opens shards under a lock).
        nonisolated(unsafe) let reader = source
        let loaded = Parallel.map(linears.count, workers: threads) { i in
            Result { try loadLinear(linears[i], index: index, shape: shape, from: reader) }
        }
        var weights: [BlockLinear: Matrix] = [:]
        for (linear, result) in zip(linears, loaded) { weights[linear] = try result.get() }
        func vector(_ name: String, count: Int) throws -> [Float] {
            if let stored = try source.storedShape(name), stored.count != 1 {
                throw ModelError.shapeMismatch(tensor: name, expected: [count], found: stored)
            }
            let m = try source.matrix(name)
            guard m.count == count, m.rows == 1 else {
                throw ModelError.shapeMismatch(tensor: name, expected: [count], found: [m.rows, m.cols])
            }
            return m.elements
        }
        // A tensor the architecture does not use would be dropped from the computation without a
        // word, so its presence is an error (a Llama checkpoint with biases, a Qwen2 config on
        // Qwen3 weights).
        var biases: [BlockLinear: [Float]] = [:]
        for linear in BlockLinear.allCases {
            let name = linear.biasName(block: index)
            if shape.biasedLinears.contains(linear) {
                biases[linear] = try vector(name, count: shape.weightShape(linear).rows)
            } else if source.contains(name) {
                throw ModelError.unexpectedTensor(tensor: name, reason: "config.json declares no bias on \(linear.rawValue)")
            }
        }
        var norms: [[Float]?] = [nil, nil]
        for (i, name) in [ModelTensorName.queryNorm(block: index), ModelTensorName.keyNorm(block: index)].enumerated() {
            if shape.queryKeyNorm {
                norms[i] = try vector(name, count: shape.headDim)
            } else if source.contains(name) {
                throw ModelError.unexpectedTensor(tensor: name, reason: "config.json's model_type has no q/k norm (qwen3 has)")
            }
        }
        return DecoderBlock(index: index, shape: shape, weights: weights,
                            inputNorm: try vector(ModelTensorName.inputNorm(block: index), count: shape.hiddenSize),
                            postAttentionNorm: try vector(ModelTensorName.postAttentionNorm(block: index), count: shape.hiddenSize),
                            biases: biases, queryNorm: norms[0], keyNorm: norms[1])
    }

    private static func loadLinear(_ linear: BlockLinear, index: Int, shape: BlockShape, from source: some WeightSource) throws -> Matrix {
        let name = linear.weightName(block: index)
        let want = shape.weightShape(linear)
        // A 3-D tensor whose leading dimensions multiply out to the right row count would
        // otherwise be read as the projection.
        if let stored = try source.storedShape(name), stored.count != 2 {
            throw ModelError.shapeMismatch(tensor: name, expected: [want.rows, want.cols], found: stored)
        }
        let m = try source.matrix(name)
        guard m.rows == want.rows && m.cols == want.cols else {
            throw ModelError.shapeMismatch(tensor: name, expected: [want.rows, want.cols], found: [m.rows, m.cols])
        }
        return m
    }

    public func weight(_ linear: BlockLinear) -> Matrix {
        guard let w = weights[linear] else { preconditionFailure("block \(index): \(linear.rawValue) not loaded") }
        return w
    }

    /// Runs the block on one window's hidden states (tokens × hidden, positions 0…tokens-1).
    /// `observe` sees each distinct linear input once, in block order, before it is multiplied —
    /// the hook through which calibration statistics are gathered (docs/design.md §3 "Statistics").
    /// `profile` (bench forward --breakdown) collects wall time per kernel.
    public func forward(_ h: Matrix, rope: RoPETable, observe: ((LinearInput, Matrix) -> Void)? = nil,
                        profile: KernelProfile? = nil) -> Matrix {
        var (h1, z) = residualAndIntermediate(h, rope: rope, observe: observe, profile: profile)
        let y = profile.time(BlockLinear.down.rawValue) { z.linear(weight(.down)) }
        profile.time("residual add") { h1.add(y) }
        return h1
    }

    /// Shows `observe` all four linear inputs without computing the block's output: a statistics
    /// pass whose output is discarded skips the down projection and the last residual (~20% of
    /// the block's FLOPs at SmolLM2's shapes).
    public func observeInputs(_ h: Matrix, rope: RoPETable, observe: (LinearInput, Matrix) -> Void) {
        _ = withoutActuallyEscaping(observe) { f in residualAndIntermediate(h, rope: rope, observe: f, profile: nil) }
    }

    /// Everything up to the down projection: the attention residual h' and the SwiGLU output z.
    private func residualAndIntermediate(_ h: Matrix, rope: RoPETable, observe: ((LinearInput, Matrix) -> Void)?,
                                         profile: KernelProfile?) -> (Matrix, Matrix) {
        let a = profile.time("norms") { h.rmsNormalized(weight: inputNorm, epsilon: shape.rmsNormEpsilon) }
        if let observe { profile.time("observe") { observe(.attention, a) } }
        var q = projection(.q, a, profile)
        var k = projection(.k, a, profile)
        let v = projection(.v, a, profile)
        if let queryNorm, let keyNorm {
            profile.time("norms") {
                q = q.headwiseRMSNormalized(headDim: shape.headDim, weight: queryNorm, epsilon: shape.rmsNormEpsilon)
                k = k.headwiseRMSNormalized(headDim: shape.headDim, weight: keyNorm, epsilon: shape.rmsNormEpsilon)
            }
        }
        profile.time("rope") {
            rope.apply(to: &q, heads: shape.heads)
            rope.apply(to: &k, heads: shape.kvHeads)
        }
        let attended = Attention.causal(q: q, k: k, v: v, heads: shape.heads, kvHeads: shape.kvHeads,
                                        headDim: shape.headDim, window: shape.attentionWindow(block: index),
                                        profile: profile)
        if let observe { profile.time("observe") { observe(.attentionOutput, attended) } }
        let projected = profile.time(BlockLinear.o.rawValue) { attended.linear(weight(.o)) }
        // projected + h is h + projected bit for bit (IEEE addition commutes), and adding into the
        // product's own buffer saves copying the window's hidden state.
        var h1 = projected
        profile.time("residual add") { h1.add(h) }
        let b = profile.time("norms") { h1.rmsNormalized(weight: postAttentionNorm, epsilon: shape.rmsNormEpsilon) }
        if let observe { profile.time("observe") { observe(.mlp, b) } }
        var z = profile.time(BlockLinear.gate.rawValue) { b.linear(weight(.gate)) }
        let up = profile.time(BlockLinear.up.rawValue) { b.linear(weight(.up)) }
        profile.time("activation") { z.applySwiGLU(up: up) }
        if let observe { profile.time("observe") { observe(.down, z) } }
        return (h1, z)
    }

    /// `x · Wᵀ (+ b)`, the bias added after the product as torch's `addmm` does.
    private func projection(_ linear: BlockLinear, _ x: Matrix, _ profile: KernelProfile?) -> Matrix {
        var y = profile.time(linear.rawValue) { x.linear(weight(linear)) }
        if let b = biases[linear] { profile.time("bias") { y.addToEveryRow(b) } }
        return y
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
        let attention = 2 * Double(shape.heads * Attention.productPairs(tokens: tokens, headDim: shape.headDim,
                                                                        window: shape.attentionWindow(block: index)))
        return linear + attention
    }
}
