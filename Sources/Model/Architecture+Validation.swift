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
        try validateBlockTensors(in: source)
    }

    /// Every block's tensors, from headers only, before the first block is loaded (issue 26
    /// item 4): a checkpoint whose `num_hidden_layers` disagrees with its tensors, or whose
    /// block 17 lacks a projection, used to fail after every earlier block had been pruned (or,
    /// for `eval`, to ignore the extra blocks and report a wrong perplexity).
    public func validateBlockTensors(in source: some WeightSource) throws {
        for block in 0..<blockCount {
            for linear in BlockLinear.allCases {
                let name = linear.weightName(block: block)
                guard source.contains(name) else { throw ModelError.missingTensor(name) }
                let want = shape.weightShape(linear)
                if let stored = try source.storedShape(name), stored != [want.rows, want.cols] {
                    throw ModelError.shapeMismatch(tensor: name, expected: [want.rows, want.cols], found: stored)
                }
            }
            var vectors = [(ModelTensorName.inputNorm(block: block), shape.hiddenSize),
                           (ModelTensorName.postAttentionNorm(block: block), shape.hiddenSize)]
            vectors += shape.biasedLinears.map { ($0.biasName(block: block), shape.weightShape($0).rows) }
            if shape.queryKeyNorm {
                vectors += [(ModelTensorName.queryNorm(block: block), shape.headDim), (ModelTensorName.keyNorm(block: block), shape.headDim)]
            }
            for (name, count) in vectors {
                guard source.contains(name) else { throw ModelError.missingTensor(name) }
                if let stored = try source.storedShape(name), stored != [count] {
                    throw ModelError.shapeMismatch(tensor: name, expected: [count], found: stored)
                }
            }
        }
        // Blocks past num_hidden_layers would be silently left out of every forward.
        guard let names = source.listedTensorNames else { return }
        for name in names where name.hasPrefix("model.layers.") {
            let index = name.dropFirst("model.layers.".count).prefix { $0.isNumber }
            if let b = Int(index), b >= blockCount {
                throw ModelError.unexpectedTensor(tensor: name, reason: "config.json says num_hidden_layers \(blockCount), so blocks are 0…\(blockCount - 1)")
            }
        }
    }
}
