import Checkpoint

extension Architecture {
    /// The forward pass's view of config.json. ModelConfig has already validated the fields
    /// (required keys, SiLU, known RoPE variants, no unknown keys); this only checks what the
    /// shapes imply and turns the family into the values the forward pass asks for.
    public init(config c: ModelConfig) throws {
        guard c.attentionHeadCount % c.keyValueHeadCount == 0 else {
            throw ModelError.unsupported("config.json: num_attention_heads \(c.attentionHeadCount) is not a multiple of num_key_value_heads \(c.keyValueHeadCount)")
        }
        guard c.headDim % 2 == 0 else {
            throw ModelError.unsupported("config.json: head_dim \(c.headDim) must be even for rotary embeddings")
        }
        self.init(
            family: c.family,
            shape: BlockShape(hiddenSize: c.hiddenSize, intermediateSize: c.intermediateSize, heads: c.attentionHeadCount,
                              kvHeads: c.keyValueHeadCount, headDim: c.headDim, rmsNormEpsilon: Float(c.rmsNormEpsilon),
                              queryKeyValueBias: c.family.hasQueryKeyValueBias, queryKeyNorm: c.family.hasQueryKeyNorm,
                              slidingWindow: c.slidingWindow, slidingBlocks: c.slidingBlocks),
            blockCount: c.layerCount, vocabularySize: c.vocabSize, tiedEmbeddings: c.tieWordEmbeddings,
            maxPositions: c.maxPositionEmbeddings, ropeBase: c.ropeTheta, ropeScaling: c.ropeScaling)
    }
}

extension CheckpointDirectory: WeightSource {
    public func storedShape(_ name: String) throws -> [Int]? { try info(name).shape }

    public var listedTensorNames: [String]? { tensorNames }
}
