/// Checks of the model-level tensors against config.json before any work: the embedding, the
/// head when untied, the final norm. Reading only headers, it costs nothing, and a checkpoint
/// whose config disagrees with its tensors fails at once with the tensor's name instead of after
/// a statistics pass (prune reads only embedding rows, which would not notice a wrong width).
/// A tied model that also stores `lm_head.weight` is accepted, as transformers accepts it: the
/// head is the embedding either way, and the stored copy is written back unchanged.
extension Architecture {
    public func validateModelTensors(in source: some WeightSource) throws {
        var expected: [(String, [Int])] = [(ModelTensorName.embedding, [vocabularySize, shape.hiddenSize]),
                                           (ModelTensorName.finalNorm, [shape.hiddenSize])]
        if !tiedEmbeddings { expected.append((ModelTensorName.lmHead, [vocabularySize, shape.hiddenSize])) }
        for (name, want) in expected {
            guard source.contains(name) else { throw ModelError.missingTensor(name) }
            if let stored = try source.storedShape(name), stored != want {
                throw ModelError.shapeMismatch(tensor: name, expected: want, found: stored)
            }
        }
    }
}
