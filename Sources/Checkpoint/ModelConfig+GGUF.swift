import Foundation

extension ModelConfig {
    /// Builds the config from a GGUF file's `llama.*` metadata, inverting what llama.cpp's
    /// `convert_hf_to_gguf.py` (`LlamaModel.set_gguf_parameters`) writes. The result encodes to a
    /// config.json that transformers loads as `LlamaForCausalLM`:
    /// - `tie_word_embeddings` is true exactly when the file has no `output.weight`;
    /// - `vocab_size` is `llama.vocab_size`, else the length of `tokenizer.ggml.tokens`;
    /// - `head_dim` is `attention.key_length`, else `rope.dimension_count`, else hidden/heads;
    /// - bos/eos come from `tokenizer.ggml.*_token_id`;
    /// - `torch_dtype` is left nil: the writer of the converted weights chooses it.
    ///
    /// Llama-3 RoPE scaling is not recoverable: the converter stores it only as the precomputed
    /// `rope_freqs.weight` factors, not as the four config numbers. Such files, and any
    /// `rope.scaling.type` other than none, are rejected rather than loaded with wrong RoPE.
    public init(gguf: GGUFFile) throws {
        let file = gguf.fileName
        let arch = try gguf.string(GGUFKey.architecture)
        guard arch == "llama" else {
            throw CheckpointError.ggufUnsupported(file: file, reason: "architecture '\(arch)' is not supported (only 'llama')")
        }
        func optionalInt(_ key: String) throws -> Int? { gguf.metadata[key] == nil ? nil : try gguf.int(key) }
        func positive(_ key: String) throws -> Int {
            let v = try gguf.int(key)
            guard v > 0 else { throw CheckpointError.ggufKeyType(file: file, key: key, expected: "a positive integer", found: "\(v)") }
            return v
        }
        /// float32 values as the shortest decimal that round-trips (1e-5, not 9.99999974e-06), so
        /// the config.json written from them carries the number the original config had.
        func decimal(_ key: String) throws -> Double {
            if case let .float32(f) = gguf.metadata[key] { return Double(f.description) ?? Double(f) }
            return try gguf.double(key)
        }
        if gguf.contains("rope_freqs.weight") {
            throw CheckpointError.ggufUnsupported(file: file, reason:
                "tensor 'rope_freqs.weight' holds Llama-3 RoPE scaling, which cannot be turned back into config.json rope_scaling")
        }
        if gguf.metadata[GGUFKey.ropeScalingType(arch)] != nil {
            let kind = try gguf.string(GGUFKey.ropeScalingType(arch))
            guard kind == "none" else {
                throw CheckpointError.ggufUnsupported(file: file, reason: "\(GGUFKey.ropeScalingType(arch)) '\(kind)' is not supported")
            }
        }
        let hidden = try positive(GGUFKey.embeddingLength(arch))
        let heads = try positive(GGUFKey.headCount(arch))
        let kvHeads = try optionalInt(GGUFKey.headCountKV(arch)) ?? heads
        let headDim = try optionalInt(GGUFKey.keyLength(arch)) ?? optionalInt(GGUFKey.ropeDimensionCount(arch)) ?? hidden / heads
        let vocab = try optionalInt(GGUFKey.vocabSize(arch)) ?? gguf.strings(GGUFKey.tokens).count
        let ropeTheta = gguf.metadata[GGUFKey.ropeFreqBase(arch)] == nil ? 10000 : try decimal(GGUFKey.ropeFreqBase(arch))
        guard kvHeads > 0, heads % kvHeads == 0, headDim > 0, headDim % 2 == 0 else {
            throw CheckpointError.ggufUnsupported(file: file, reason:
                "inconsistent attention shape: \(heads) heads, \(kvHeads) key/value heads, head_dim \(headDim)")
        }
        self.init(hiddenSize: hidden,
                  intermediateSize: try positive(GGUFKey.feedForwardLength(arch)),
                  layerCount: try positive(GGUFKey.blockCount(arch)),
                  attentionHeadCount: heads,
                  keyValueHeadCount: kvHeads,
                  headDim: headDim,
                  rmsNormEpsilon: try decimal(GGUFKey.rmsNormEpsilon(arch)),
                  ropeTheta: ropeTheta,
                  maxPositionEmbeddings: try positive(GGUFKey.contextLength(arch)),
                  vocabSize: vocab,
                  tieWordEmbeddings: !gguf.contains("output.weight"),
                  bosTokenIds: try optionalInt(GGUFKey.bosTokenId).map { [$0] },
                  eosTokenIds: try optionalInt(GGUFKey.eosTokenId).map { [$0] })
    }
}
