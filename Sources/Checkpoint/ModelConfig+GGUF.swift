import Foundation

extension ModelConfig {
    /// The `general.architecture` values owlprune imports. llama.cpp writes Llama and Mistral
    /// checkpoints as `llama` (`LlamaModel`, which also serves `MistralForCausalLM`), Qwen2 as
    /// `qwen2`, Qwen3 as `qwen3`.
    public static let ggufArchitectures = ["llama", "qwen2", "qwen3"]

    /// Builds the config from a GGUF file's `<arch>.*` metadata as transformers' GGUF loader does
    /// (`GGUF_CONFIG_MAPPING` in `integrations/ggml.py`, `load_gguf_checkpoint` in
    /// `modeling_gguf_pytorch_utils.py`, transformers 5.25), so the config.json written from it
    /// is the one `from_pretrained(..., gguf_file=...)` builds:
    /// - `llama` becomes `LlamaForCausalLM`, except that a `general.name` of exactly `mistral`
    ///   makes it `MistralForCausalLM` (transformers tests membership of the string in the
    ///   one-element name list, so "Mistral 7B" stays llama), which then has
    ///   `MistralConfig`'s default `sliding_window` 4096 on every block;
    /// - `qwen2` and `qwen3` become `Qwen2ForCausalLM` and `Qwen3ForCausalLM` with no sliding
    ///   window (`use_sliding_window` defaults to false);
    /// - `tie_word_embeddings` is true exactly when the file has no `output.weight`;
    /// - `vocab_size` is `<arch>.vocab_size`, else the length of `tokenizer.ggml.tokens`;
    /// - `head_dim`: llama takes `attention.key_length`, else `rope.dimension_count` (the key
    ///   transformers maps; llama.cpp writes both equal), else hidden/heads; qwen2 has no such
    ///   key in transformers' map, so hidden/heads, and a `key_length` that differs is refused;
    ///   qwen3 takes `key_length`, else `Qwen3Config`'s default 128;
    /// - bos/eos come from `tokenizer.ggml.*_token_id`;
    /// - `torch_dtype` is left nil: the writer of the converted weights chooses it.
    ///
    /// Llama-3 RoPE scaling is not recoverable: the converter stores it only as the precomputed
    /// `rope_freqs.weight` factors, not as the four config numbers. Such files, and any
    /// `rope.scaling.type` other than none, are rejected rather than loaded with wrong RoPE.
    public init(gguf: GGUFFile) throws {
        let file = gguf.fileName
        let arch = try gguf.string(GGUFKey.architecture)
        guard Self.ggufArchitectures.contains(arch) else {
            throw CheckpointError.ggufUnsupported(file: file, reason:
                "architecture '\(arch)' is not supported (only \(Self.ggufArchitectures.map { "'\($0)'" }.joined(separator: ", ")))")
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
        let family: ModelFamily
        let headDim: Int
        switch arch {
        case "qwen2":
            family = .qwen2
            headDim = hidden % heads == 0 ? hidden / heads : 0  // 0 is refused below
            if let keyLength = try optionalInt(GGUFKey.keyLength(arch)), keyLength != headDim {
                throw CheckpointError.ggufUnsupported(file: file, reason:
                    "\(GGUFKey.keyLength(arch)) \(keyLength) differs from embedding_length / head_count = \(headDim), which Qwen2 assumes")
            }
        case "qwen3":
            family = .qwen3
            headDim = try optionalInt(GGUFKey.keyLength(arch)) ?? 128
        default:
            family = gguf.metadata[GGUFKey.name] != nil && (try? gguf.string(GGUFKey.name)) == "mistral" ? .mistral : .llama
            headDim = try optionalInt(GGUFKey.keyLength(arch)) ?? optionalInt(GGUFKey.ropeDimensionCount(arch)) ?? hidden / heads
        }
        let vocab = try optionalInt(GGUFKey.vocabSize(arch)) ?? gguf.strings(GGUFKey.tokens).count
        let ropeTheta = gguf.metadata[GGUFKey.ropeFreqBase(arch)] == nil ? 10000 : try decimal(GGUFKey.ropeFreqBase(arch))
        guard kvHeads > 0, heads % kvHeads == 0, headDim > 0, headDim % 2 == 0 else {
            throw CheckpointError.ggufUnsupported(file: file, reason:
                "inconsistent attention shape: \(heads) heads, \(kvHeads) key/value heads, head_dim \(headDim)")
        }
        let layers = try positive(GGUFKey.blockCount(arch))
        self.init(family: family,
                  hiddenSize: hidden,
                  intermediateSize: try positive(GGUFKey.feedForwardLength(arch)),
                  layerCount: layers,
                  attentionHeadCount: heads,
                  keyValueHeadCount: kvHeads,
                  headDim: headDim,
                  rmsNormEpsilon: try decimal(GGUFKey.rmsNormEpsilon(arch)),
                  ropeTheta: ropeTheta,
                  slidingWindow: family == .mistral ? 4096 : nil,
                  slidingBlocks: family == .mistral ? Array(0..<layers) : [],
                  maxPositionEmbeddings: try positive(GGUFKey.contextLength(arch)),
                  vocabSize: vocab,
                  tieWordEmbeddings: !gguf.contains("output.weight"),
                  bosTokenIds: try optionalInt(GGUFKey.bosTokenId).map { [$0] },
                  eosTokenIds: try optionalInt(GGUFKey.eosTokenId).map { [$0] })
    }
}
