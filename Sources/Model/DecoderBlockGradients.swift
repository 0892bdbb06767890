import Tensor

/// Gradients of a scalar loss with respect to every trainable parameter of one decoder block:
/// the seven weights, the two RMSNorm weights, the q/k/v biases (Qwen2) and the q/k norm weights
/// (Qwen3) — the same set of tensors `DecoderBlock` holds, in the same shapes.
///
/// Data-parallel training (LLM-Streamline, docs/algorithms.md "LLM-Streamline") computes one of
/// these per calibration window, float32, and sums them in window order into a
/// `DecoderBlockGradientSum` (float64), whichever rank computed which window: the step's gradient
/// is then the same bits for any rank and thread count.
public struct DecoderBlockGradients: Sendable, Equatable {
    public var weights: [BlockLinear: Matrix]
    public var inputNorm: [Float]
    public var postAttentionNorm: [Float]
    public var biases: [BlockLinear: [Float]]
    public var queryNorm: [Float]?
    public var keyNorm: [Float]?

    public init(weights: [BlockLinear: Matrix], inputNorm: [Float], postAttentionNorm: [Float],
                biases: [BlockLinear: [Float]] = [:], queryNorm: [Float]? = nil, keyNorm: [Float]? = nil) {
        self.weights = weights
        self.inputNorm = inputNorm
        self.postAttentionNorm = postAttentionNorm
        self.biases = biases
        self.queryNorm = queryNorm
        self.keyNorm = keyNorm
    }

    /// Every tensor flattened, in `DecoderBlock.parameterNames` order (optimizer and clipping
    /// work on this list).
    public var tensors: [[Float]] {
        var out = BlockLinear.allCases.map { weights[$0]!.elements }
        out.append(inputNorm)
        out.append(postAttentionNorm)
        for linear in BlockLinear.allCases { if let b = biases[linear] { out.append(b) } }
        if let queryNorm, let keyNorm { out += [queryNorm, keyNorm] }
        return out
    }
}

/// A float64 running sum of per-window gradients. Windows are added in window order; the sum of
/// the same windows in the same order is the same bits wherever they were computed.
public struct DecoderBlockGradientSum: Sendable, Equatable {
    /// One float64 buffer per tensor, in `DecoderBlock.parameterNames` order.
    public private(set) var tensors: [[Double]]
    /// Windows added so far.
    public private(set) var windows: Int

    /// An all-zero sum shaped like `block`'s parameters.
    public init(shapedLike block: DecoderBlock) {
        tensors = block.parameterTensors.map { [Double](repeating: 0, count: $0.count) }
        windows = 0
    }

    /// Every buffer concatenated, in `DecoderBlock.parameterNames` order (the state a
    /// window-order chain passes from rank to rank).
    public var flattened: [Double] { Array(tensors.joined()) }

    /// A sum of `windows` windows restored from `flattened` of a sum shaped like `block`'s.
    public init(shapedLike block: DecoderBlock, flattened: [Double], windows: Int) {
        let sizes = block.parameterTensors.map(\.count)
        precondition(flattened.count == sizes.reduce(0, +), "gradient sum: \(flattened.count) values for \(sizes.reduce(0, +)) parameters")
        var start = 0
        tensors = sizes.map { n in
            defer { start += n }
            return Array(flattened[start..<(start + n)])
        }
        self.windows = windows
    }

    public mutating func add(_ gradients: DecoderBlockGradients) {
        let parts = gradients.tensors
        precondition(parts.count == tensors.count, "gradient sum: \(parts.count) tensors added to \(tensors.count)")
        for t in tensors.indices {
            precondition(parts[t].count == tensors[t].count, "gradient sum: tensor \(t) has \(parts[t].count) entries, sum \(tensors[t].count)")
            for i in tensors[t].indices { tensors[t][i] += Double(parts[t][i]) }
        }
        windows += 1
    }

    /// The sum rounded to float32 once, in `DecoderBlock.parameterNames` order.
    public var rounded: [[Float]] { tensors.map { $0.map { Float($0) } } }
}
