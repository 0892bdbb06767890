import Checkpoint
import Tensor

/// Everything the forward pass needs to know about a LLaMA-family model, derived once from
/// config.json (see Architecture+Config.swift) so Model code never reads JSON.
public struct Architecture: Sendable, Equatable {
    public var shape: BlockShape
    public var blockCount: Int
    public var vocabularySize: Int
    public var tiedEmbeddings: Bool
    public var maxPositions: Int
    public var ropeBase: Double
    public var llama3Scaling: RopeScaling?

    public init(shape: BlockShape, blockCount: Int, vocabularySize: Int, tiedEmbeddings: Bool, maxPositions: Int,
                ropeBase: Double, llama3Scaling: RopeScaling? = nil) {
        self.shape = shape
        self.blockCount = blockCount
        self.vocabularySize = vocabularySize
        self.tiedEmbeddings = tiedEmbeddings
        self.maxPositions = maxPositions
        self.ropeBase = ropeBase
        self.llama3Scaling = llama3Scaling
    }

    public func ropeTable(positions: Int) -> RoPETable {
        RoPETable(inverseFrequencies: rotaryInverseFrequencies(headDim: shape.headDim, base: ropeBase, llama3: llama3Scaling),
                  positions: positions)
    }

    /// Name of the head weight: the embedding table itself when tied.
    public var headWeightName: String { tiedEmbeddings ? ModelTensorName.embedding : ModelTensorName.lmHead }
}
