import Checkpoint
import Tensor

/// Everything the forward pass needs to know about a LLaMA-family model, derived once from
/// config.json (see Architecture+Config.swift) so Model code never reads JSON. The family's
/// differences (q/k/v biases, q/k norms, sliding windows, RoPE variants) are values here and in
/// `BlockShape`; no code outside Model and Checkpoint asks which family a model is.
public struct Architecture: Sendable, Equatable {
    public var family: ModelFamily
    public var shape: BlockShape
    public var blockCount: Int
    public var vocabularySize: Int
    public var tiedEmbeddings: Bool
    public var maxPositions: Int
    public var ropeBase: Double
    public var ropeScaling: RopeScaling?

    public init(family: ModelFamily = .llama, shape: BlockShape, blockCount: Int, vocabularySize: Int, tiedEmbeddings: Bool,
                maxPositions: Int, ropeBase: Double, ropeScaling: RopeScaling? = nil) {
        self.family = family
        self.shape = shape
        self.blockCount = blockCount
        self.vocabularySize = vocabularySize
        self.tiedEmbeddings = tiedEmbeddings
        self.maxPositions = maxPositions
        self.ropeBase = ropeBase
        self.ropeScaling = ropeScaling
    }

    /// cos/sin tables for windows of `positions` tokens (dynamic NTK depends on that length).
    public func ropeTable(positions: Int) -> RoPETable {
        let p = rotaryParameters(headDim: shape.headDim, base: ropeBase, scaling: ropeScaling, maxPositions: maxPositions,
                                 sequenceLength: positions)
        return RoPETable(inverseFrequencies: p.inverseFrequencies, positions: positions, attentionScaling: p.attentionScaling)
    }

    /// Name of the head weight: the embedding table itself when tied.
    public var headWeightName: String { tiedEmbeddings ? ModelTensorName.embedding : ModelTensorName.lmHead }

    /// A line for the user when the config has a sliding window that windows of `sequenceLength`
    /// tokens never reach (so it changes nothing), or that they do reach; nil without one.
    public func slidingWindowNote(sequenceLength: Int) -> String? {
        guard let w = shape.slidingWindow else { return nil }
        let blocks = shape.slidingBlocks.count == blockCount ? "every block" : "\(shape.slidingBlocks.count) of \(blockCount) blocks"
        if w >= sequenceLength {
            return "sliding_window \(w) (\(blocks)) is never reached by windows of \(sequenceLength) tokens: attention is plain causal"
        }
        return "sliding_window \(w) applies to \(blocks): each token attends to the last \(w) positions of its \(sequenceLength)-token window"
    }
}
