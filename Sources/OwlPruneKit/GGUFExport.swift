import ArgumentParser
import Checkpoint
import Foundation
import Tensor
import Tokenizer

/// `owlprune convert DIR --to gguf`: a Hugging Face LLaMA directory (pruned or not) as the GGUF v3
/// file llama.cpp's `convert_hf_to_gguf.py` would write for it, so llama.cpp and Ollama run it:
/// - tensor names from `TensorName` (gguf-py `tensor_mapping.py`); q_proj and k_proj rows
///   permuted for llama.cpp's RoPE pairing (`LlamaModel.modify_tensors` → `permute`), with
///   `num_attention_heads` and `num_key_value_heads` heads;
/// - 1-D tensors (norms) always F32, as the converter keeps them; 2-D tensors in `--dtype`;
///   a Q8_0 tensor whose rows are not a multiple of 32 long falls back to F16, as gguf-py does;
/// - `llama.*` hyper-parameters as `LlamaModel.set_gguf_parameters` writes them, and
///   `general.file_type` with gguf-py's `LlamaFileType` numbers;
/// - tokenizer metadata as `_set_vocab_gpt2` / `get_vocab_base` build it (ids in order, missing
///   ids as `[PAD<i>]` UNUSED, added special tokens CONTROL, other added tokens USER_DEFINED),
///   special ids from tokenizer_config.json as gguf-py's `SpecialVocab` reads them, and
///   `tokenizer.ggml.pre` from llama.cpp's check-text digest (`GGUFPreTokenizer`).
/// Sparse weights stay sparse: the zeros are written as zeros (Q8_0 keeps an exact 0).
package struct GGUFExport {
    package let input: URL
    package let output: URL
    package let type: GGMLType
    package let force: Bool
    /// Overrides the digest look-up, for tokenizers llama.cpp's table does not know.
    package let pre: String?

    package init(input: URL, output: URL, type: GGMLType, force: Bool, pre: String?) {
        self.input = input
        self.output = output
        self.type = type
        self.force = force
        self.pre = pre
    }

    /// gguf-py `TokenType`.
    package enum TokenType: Int32 { case normal = 1, control = 3, userDefined = 4, unused = 5 }

    package func run() throws -> (tensors: Int, fallbacks: [String]) {
        try OutputPath.check(output, inputs: [("the input", input)])
        if FileManager.default.fileExists(atPath: output.path), !force {
            throw ValidationError("--out \(output.path) exists; pass --force to replace it")
        }
        let dir = try CheckpointDirectory(url: input)
        let config = dir.config
        guard config.family == .llama || (config.family == .mistral && config.slidingWindow == nil) else {
            throw ValidationError("\(input.path): model_type \(config.modelType) is not exported to GGUF (only llama, and mistral without sliding_window)")
        }
        guard config.ropeScaling == nil else {
            throw ValidationError("\(input.path)/config.json: rope_scaling is not exported to GGUF (llama.cpp needs rope_freqs factors owlprune does not write)")
        }
        let tokenizer = try Tokenizer.load(directory: input)
        guard let preName = pre ?? GGUFPreTokenizer.name(of: tokenizer) else {
            throw ValidationError("\(input.path)/tokenizer.json: llama.cpp's table has no pre-tokenizer for this tokenizer (check digest \(GGUFPreTokenizer.checkDigest(tokenizer))); pass --gguf-pre NAME")
        }
        var fallbacks: [String] = []
        var entries: [GGUFWriter.Entry] = []
        var sources: [String] = []
        for hf in Self.exportOrder(dir.tensorNames) {
            guard let name = TensorName.ggufName(fromHF: hf) else {
                throw ValidationError("\(input.path): tensor \(hf) has no llama.cpp name")
            }
            let shape = try dir.info(hf).shape
            var t: GGMLType = shape.count == 1 ? .f32 : type
            if t == .q8_0, (shape.last ?? 0) % 32 != 0 {
                t = .f16
                fallbacks.append(name)
            }
            entries.append(.init(name: name, shape: shape, type: t))
            sources.append(hf)
        }
        let parameters = entries.reduce(0) { $0 + $1.shape.reduce(1, *) }
        let rawConfig = (try? JSONSerialization.jsonObject(with: Data(contentsOf: input.appendingPathComponent("config.json")))) as? [String: Any]
        let metadata = try Self.metadata(config: config, name: input.standardizedFileURL.lastPathComponent, type: type,
                                         parameterCount: parameters, explicitHeadDim: rawConfig?["head_dim"] != nil)
            + (try tokenizerMetadata(directory: input, vocabSize: config.vocabSize, pre: preName))
        let writer = try GGUFWriter(url: output, metadata: metadata, entries: entries)
        for (entry, hf) in zip(entries, sources) {
            var w = try dir.matrix(hf)
            if let heads = TensorName.rotaryHeadCount(hfName: hf, config: config) { w = TensorName.permuteQK(w, headCount: heads) }
            try writer.write(entry.name, w)
        }
        try writer.finish()
        return (entries.count, fallbacks)
    }

    /// Embedding and final norm first, then block by block, as the converter walks the model.
    package static func exportOrder(_ names: [String]) -> [String] {
        func key(_ n: String) -> (Int, String) {
            let prefix = "model.layers."
            guard n.hasPrefix(prefix), let b = Int(n.dropFirst(prefix.count).prefix { $0.isNumber }) else { return (-1, n) }
            return (b, n)
        }
        return names.sorted { key($0) < key($1) }
    }

    /// gguf-py `LlamaFileType`: ALL_F32 0, MOSTLY_F16 1, MOSTLY_Q8_0 7, MOSTLY_BF16 32.
    package static func fileType(_ t: GGMLType) -> UInt32 {
        switch t {
        case .f16: 1
        case .q8_0: 7
        case .bf16: 32
        default: 0
        }
    }

    /// gguf-py `model_weight_count_rounded_notation(n, min_digits=2)` (`gguf/utility.py`), which
    /// `convert_hf_to_gguf.py` writes as `general.size_label` when the model card gives none:
    /// 134515008 → "135M", 106 M → "106M", 1.24e9 → "1.2B". Every element counts, zeros
    /// included, as the converter counts them, so a depth-pruned model gets its smaller label and an
    /// unstructured-sparse one keeps its dense label (docs/quality.md).
    package static func sizeLabel(parameterCount n: Int) -> String {
        let (scaled, suffix): (Double, String) = switch Double(n) {
        case let x where x > 1e12: (x * 1e-12, "T")
        case let x where x > 1e9: (x * 1e-9, "B")
        case let x where x > 1e6: (x * 1e-6, "M")
        case let x: (x * 1e-3, "K")
        }
        let digits = String(Int(scaled.rounded(.toNearestOrEven))).drop { $0 == "0" }.count
        return String(format: "%.\(max(2 - digits, 0))f", scaled) + suffix
    }

    package static func metadata(config c: ModelConfig, name: String, type: GGMLType,
                         parameterCount: Int? = nil, explicitHeadDim: Bool = false) throws -> [(key: String, value: GGUFValue)] {
        let arch = "llama"
        func u32(_ v: Int) -> GGUFValue { .uint32(UInt32(v)) }
        var kv: [(key: String, value: GGUFValue)] = [
            (GGUFKey.architecture, .string(arch)),
            ("general.type", .string("model")),
            (GGUFKey.name, .string(name)),
            (GGUFKey.blockCount(arch), u32(c.layerCount)),
            (GGUFKey.contextLength(arch), u32(c.maxPositionEmbeddings)),
            (GGUFKey.embeddingLength(arch), u32(c.hiddenSize)),
            (GGUFKey.feedForwardLength(arch), u32(c.intermediateSize)),
            (GGUFKey.headCount(arch), u32(c.attentionHeadCount)),
            (GGUFKey.headCountKV(arch), u32(c.keyValueHeadCount)),
            (GGUFKey.ropeFreqBase(arch), .float32(Float(c.ropeTheta))),
            (GGUFKey.rmsNormEpsilon(arch), .float32(Float(c.rmsNormEpsilon))),
            (GGUFKey.fileType, .uint32(fileType(type))),
            (GGUFKey.vocabSize(arch), u32(c.vocabSize)),
            (GGUFKey.ropeDimensionCount(arch), u32(c.headDim)),
        ]
        // `set_gguf_parameters` writes both lengths whenever config.json names head_dim (SmolLM2's
        // does, equal to hidden / heads: found by Benchmarks/llama_cpp/gguf_diff.py against the
        // llama-cpp-python 0.3.36 converter); a head_dim other than hidden / heads needs them anyway.
        if explicitHeadDim || c.headDim * c.attentionHeadCount != c.hiddenSize {
            kv.append((GGUFKey.keyLength(arch), u32(c.headDim)))
            kv.append(("\(arch).attention.value_length", u32(c.headDim)))
        }
        kv.append(("general.quantization_version", .uint32(2)))
        // After general.name, where the converter's `Metadata.set_gguf_meta_model` puts it.
        if let parameterCount { kv.insert(("general.size_label", .string(sizeLabel(parameterCount: parameterCount))), at: 3) }
        return kv
    }

    /// The tokenizer keys, read straight from tokenizer.json / tokenizer_config.json.
    package func tokenizerMetadata(directory: URL, vocabSize: Int, pre: String) throws -> [(key: String, value: GGUFValue)] {
        let jsonURL = directory.appendingPathComponent("tokenizer.json")
        guard let json = try JSONSerialization.jsonObject(with: Data(contentsOf: jsonURL)) as? [String: Any],
              let model = json["model"] as? [String: Any], (model["type"] as? String) == "BPE",
              let vocab = model["vocab"] as? [String: Int] else {
            throw ValidationError("\(jsonURL.path): expected a BPE tokenizer with model.vocab (only byte-level BPE is exported to GGUF)")
        }
        var reverse: [Int: String] = [:]
        for (token, id) in vocab { reverse[id] = token }
        var special: [Int: Bool] = [:]
        for added in json["added_tokens"] as? [[String: Any]] ?? [] {
            guard let id = added["id"] as? Int, let content = added["content"] as? String else { continue }
            reverse[id] = content
            special[id] = added["special"] as? Bool ?? false
        }
        var tokens: [GGUFValue] = [], types: [GGUFValue] = []
        for id in 0..<vocabSize {
            guard let token = reverse[id] else {
                tokens.append(.string("[PAD\(id)]"))
                types.append(.int32(TokenType.unused.rawValue))
                continue
            }
            tokens.append(.string(token))
            let kind: TokenType = switch special[id] {
            case true?: .control
            case false?: .userDefined
            case nil: .normal
            }
            types.append(.int32(kind.rawValue))
        }
        // Merges are "a b" strings in older files and [a, b] pairs in newer ones; GGUF keeps strings.
        let merges: [GGUFValue] = (model["merges"] as? [Any] ?? []).compactMap { m in
            if let s = m as? String { return .string(s) }
            if let pair = m as? [String], pair.count == 2 { return .string(pair[0] + " " + pair[1]) }
            return nil
        }
        var kv: [(key: String, value: GGUFValue)] = [
            (GGUFKey.tokenizerModel, .string("gpt2")),
            (GGUFKey.tokenizerPre, .string(pre)),
            (GGUFKey.tokens, .array(tokens)),
            (GGUFKey.tokenTypes, .array(types)),
            (GGUFKey.merges, .array(merges)),
        ]
        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        let tc = (try? JSONSerialization.jsonObject(with: Data(contentsOf: configURL))) as? [String: Any] ?? [:]
        let idOf = Dictionary(reverse.map { ($0.value, $0.key) }, uniquingKeysWith: min)
        for (field, key) in [("bos_token", GGUFKey.bosTokenId), ("eos_token", GGUFKey.eosTokenId),
                             ("unk_token", GGUFKey.unknownTokenId), ("pad_token", GGUFKey.paddingTokenId)] {
            let content = (tc[field] as? String) ?? ((tc[field] as? [String: Any])?["content"] as? String)
            if let content, let id = idOf[content] { kv.append((key, .uint32(UInt32(id)))) }
        }
        if let add = tc["add_bos_token"] as? Bool { kv.append((GGUFKey.addBosToken, .bool(add))) }
        if let add = tc["add_eos_token"] as? Bool { kv.append((GGUFKey.addEosToken, .bool(add))) }
        if let template = tc["chat_template"] as? String { kv.append((GGUFKey.chatTemplate, .string(template))) }
        return kv
    }
}
