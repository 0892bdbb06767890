import Foundation

extension GGUFCheckpoint {
    /// Checks that the tensors are exactly those the metadata describes, with the shapes it implies,
    /// before `owlprune convert` writes anything (issue 10 item 6): `convert` must never produce a
    /// directory that `prune` or `eval` rejects later, or one transformers loads with wrong shapes.
    /// Refused, naming the tensor or key: a missing tensor, a tensor of a block at or past
    /// `block_count`, a shape that differs from the config's, a token list whose length is not
    /// `vocab_size`, a non-positive or non-finite epsilon or RoPE base, and a tensor whose ggml
    /// type cannot be dequantized (Q8_K, an integer type), so nothing is written for such a file.
    public func checkConsistency() throws {
        let c = config, f = file.fileName, arch = try file.string(GGUFKey.architecture)
        if let tensor = file.tensors.first(where: { !GGUFDequant.supports($0.type) }) {
            throw CheckpointError.ggufBadTensor(file: f, tensor: tensor.name, reason: "cannot dequantize type \(tensor.type.name)")
        }
        for (key, value) in [(GGUFKey.rmsNormEpsilon(arch), c.rmsNormEpsilon), (GGUFKey.ropeFreqBase(arch), c.ropeTheta)]
        where !(value > 0 && value.isFinite) {
            throw CheckpointError.ggufKeyType(file: f, key: key, expected: "a positive finite number", found: "\(value)")
        }
        if file.metadata[GGUFKey.tokens] != nil {
            let count = try file.strings(GGUFKey.tokens).count
            guard count == c.vocabSize else {
                throw CheckpointError.ggufMalformed(file: f, reason:
                    "\(GGUFKey.vocabSize(arch)) is \(c.vocabSize) but \(GGUFKey.tokens) has \(count) entries")
            }
        }
        let expected = try Self.expectedShapes(c, file: f)
        for tensor in file.tensors {
            guard let hf = TensorName.hfName(fromGGUF: tensor.name) else { continue }  // init already refused these
            guard let shape = expected[hf] else {
                throw CheckpointError.ggufBadTensor(file: f, tensor: tensor.name, reason:
                    "not part of the model the metadata describes (\(GGUFKey.blockCount(arch)) \(c.layerCount), tie_word_embeddings \(c.tieWordEmbeddings))")
            }
            let actual = tensor.dims.reversed().map { $0 }
            guard actual == shape else {
                throw CheckpointError.ggufBadTensor(file: f, tensor: tensor.name, reason:
                    "shape \(actual) (Hugging Face order) differs from \(shape), which the metadata implies")
            }
        }
        let present = Set(tensorNames)
        if let missing = expected.keys.sorted().first(where: { !present.contains($0) }) {
            throw CheckpointError.ggufBadTensor(file: f, tensor: TensorName.ggufName(fromHF: missing) ?? missing,
                                                reason: "missing; the metadata describes a \(c.layerCount)-block model that needs it")
        }
    }

    /// Hugging Face name → shape (HF order, out × in) of every tensor a checkpoint of this family
    /// with this config holds (Qwen2: q/k/v biases; Qwen3: per-head q/k norms). Sizes are products of metadata values, so they are checked for overflow.
    static func expectedShapes(_ c: ModelConfig, file: String) throws -> [String: [Int]] {
        func product(_ a: Int, _ b: Int, _ what: String) throws -> Int {
            let (p, overflow) = a.multipliedReportingOverflow(by: b)
            guard !overflow else { throw CheckpointError.sizeOverflow(file: file, what: what) }
            return p
        }
        let h = c.hiddenSize, i = c.intermediateSize
        let q = try product(c.attentionHeadCount, c.headDim, "head_count × key_length")
        let kv = try product(c.keyValueHeadCount, c.headDim, "head_count_kv × key_length")
        for (n, what) in [(c.vocabSize, "vocab_size × embedding_length"), (i, "feed_forward_length × embedding_length"),
                          (q, "head_count × key_length × embedding_length")] {
            _ = try product(try product(n, h, what), 4, what)
        }
        var shapes: [String: [Int]] = ["model.embed_tokens.weight": [c.vocabSize, h], "model.norm.weight": [h]]
        if !c.tieWordEmbeddings { shapes["lm_head.weight"] = [c.vocabSize, h] }
        for b in 0..<c.layerCount {
            let p = "model.layers.\(b)."
            shapes[p + "self_attn.q_proj.weight"] = [q, h]
            shapes[p + "self_attn.k_proj.weight"] = [kv, h]
            shapes[p + "self_attn.v_proj.weight"] = [kv, h]
            shapes[p + "self_attn.o_proj.weight"] = [h, q]
            shapes[p + "mlp.gate_proj.weight"] = [i, h]
            shapes[p + "mlp.up_proj.weight"] = [i, h]
            shapes[p + "mlp.down_proj.weight"] = [h, i]
            shapes[p + "input_layernorm.weight"] = [h]
            shapes[p + "post_attention_layernorm.weight"] = [h]
            if c.family.hasQueryKeyValueBias {
                shapes[p + "self_attn.q_proj.bias"] = [q]
                shapes[p + "self_attn.k_proj.bias"] = [kv]
                shapes[p + "self_attn.v_proj.bias"] = [kv]
            }
            if c.family.hasQueryKeyNorm {
                shapes[p + "self_attn.q_norm.weight"] = [c.headDim]
                shapes[p + "self_attn.k_norm.weight"] = [c.headDim]
            }
        }
        return shapes
    }
}
