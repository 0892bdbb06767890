extension ModelConfig {
    /// Every size the model's shapes multiply out to fits in 64 bits, counted in bytes of float32
    /// (issue 10 item 1: a config.json with `vocab_size` 2^62 must be an error line, not an
    /// arithmetic trap in whatever multiplies it first). Real models are many orders of magnitude
    /// below these limits, so nothing legitimate is refused; memory itself is checked elsewhere.
    public func checkSizes(file: String) throws {
        func product(_ factors: [(String, Int)]) throws -> Int {
            var p = 4
            for (_, v) in factors {
                let (next, overflow) = p.multipliedReportingOverflow(by: v)
                guard !overflow else {
                    throw CheckpointError.sizeOverflow(file: file, what: factors.map { "\($0.0) \($0.1)" }.joined(separator: " × "))
                }
                p = next
            }
            return p
        }
        let embedding = try product([("vocab_size", vocabSize), ("hidden_size", hiddenSize)])
        let mlp = try product([("intermediate_size", intermediateSize), ("hidden_size", hiddenSize)])
        let query = try product([("num_attention_heads", attentionHeadCount), ("head_dim", headDim), ("hidden_size", hiddenSize)])
        let keyValue = try product([("num_key_value_heads", keyValueHeadCount), ("head_dim", headDim), ("hidden_size", hiddenSize)])
        _ = try product([("max_position_embeddings", maxPositionEmbeddings), ("head_dim", headDim)])
        var block = 0
        for part in [mlp, mlp, mlp, query, query, keyValue, keyValue] {
            let (sum, overflow) = block.addingReportingOverflow(part)
            guard !overflow else { throw CheckpointError.sizeOverflow(file: file, what: "the parameters of one block") }
            block = sum
        }
        let (all, overflow) = block.multipliedReportingOverflow(by: layerCount)
        let (tables, tablesOverflow) = embedding.multipliedReportingOverflow(by: 2)
        guard !overflow, !tablesOverflow, !all.addingReportingOverflow(tables).overflow else {
            throw CheckpointError.sizeOverflow(file: file, what: "the parameters of num_hidden_layers \(layerCount) blocks")
        }
    }
}
