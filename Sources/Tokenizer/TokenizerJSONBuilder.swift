import Foundation

/// Turns a GGUF file's tokenizer arrays (`tokenizer.ggml.*`) into HF `tokenizer.json` and
/// `tokenizer_config.json`, for `owlprune convert`. The result loads both in this module's
/// `Tokenizer` and in HF `tokenizers` (`Tokenizer.from_file`), with the same ids.
///
/// The pre-tokenizer follows llama.cpp's `tokenizer.ggml.pre` (ggml-org/llama.cpp
/// `src/llama-vocab.cpp`), not transformers' GGUF converter, which ignores that key: for
/// `smollm` it leaves out the digit split and so tokenizes `" 1"` and `"½"` differently from the
/// model's own tokenizer (see `Tests/Fixtures/smollm2/README.md`).
public enum TokenizerJSONBuilder {
    /// - Parameters:
    ///   - ggufModel: `tokenizer.ggml.model`: `gpt2` (byte-level BPE) or `llama` (SentencePiece BPE).
    ///   - pre: `tokenizer.ggml.pre` (byte-level only): `smollm`, `gpt2`/`default` (also when
    ///     absent), `llama-bpe`/`llama3`, `qwen2`/`deepseek-r1-qwen`. Anything else is an error
    ///     naming it.
    ///   - tokenTypes: `tokenizer.ggml.token_type`; 3 (control) and 4 (user-defined) become
    ///     `added_tokens`, special iff control. Empty means all normal.
    ///   - merges: `tokenizer.ggml.merges` (`"a b"`). SentencePiece GGUFs usually have none; then
    ///     they are derived from `scores` (see `deriveMerges`).
    public static func build(ggufModel: String, pre: String?, tokens: [String], tokenTypes: [Int], merges: [String],
                             scores: [Float]?, bosID: Int?, eosID: Int?, unkID: Int?, padID: Int?,
                             addBOS: Bool, addEOS: Bool, chatTemplate: String?)
        throws -> (tokenizerJSON: Data, tokenizerConfigJSON: Data) {
        let types = tokenTypes.isEmpty ? Array(repeating: GGUFTokenType.normal, count: tokens.count) : tokenTypes
        guard types.count == tokens.count else {
            throw TokenizerError.invalidGGUFVocabulary(
                reason: "tokenizer.ggml.token_type has \(types.count) entries, tokenizer.ggml.tokens \(tokens.count)")
        }
        func name(_ id: Int?, _ key: String) throws -> String? {
            guard let id else { return nil }
            guard tokens.indices.contains(id) else {
                throw TokenizerError.invalidGGUFVocabulary(reason: "\(key) = \(id) is outside the \(tokens.count) tokens")
            }
            return tokens[id]
        }
        let bos = try name(bosID, "tokenizer.ggml.bos_token_id")
        let eos = try name(eosID, "tokenizer.ggml.eos_token_id")
        let unk = try name(unkID, "tokenizer.ggml.unknown_token_id")
        let pad = try name(padID, "tokenizer.ggml.padding_token_id")
        if addBOS && bos == nil {
            throw TokenizerError.missingGGUFKey(key: "tokenizer.ggml.bos_token_id", reason: "add_bos_token is true")
        }
        if addEOS && eos == nil {
            throw TokenizerError.missingGGUFKey(key: "tokenizer.ggml.eos_token_id", reason: "add_eos_token is true")
        }

        var seen: [String: Int] = [:]
        seen.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() {
            if let other = seen.updateValue(id, forKey: token) {
                throw TokenizerError.invalidGGUFVocabulary(reason: "token '\(token)' appears at ids \(other) and \(id)")
            }
        }
        let vocab = JSONValue.object(tokens.enumerated().map { ($1, .int($0)) })
        let added: [JSONValue] = tokens.indices.compactMap { id in
            let type = types[id]
            guard type == GGUFTokenType.control || type == GGUFTokenType.userDefined else { return nil }
            return .object([("id", .int(id)), ("content", .string(tokens[id])), ("single_word", false), ("lstrip", false),
                            ("rstrip", false), ("normalized", false), ("special", .bool(type == GGUFTokenType.control))])
        }

        let template = templateProcessor(bos: addBOS ? (bos!, bosID!) : nil, eos: addEOS ? (eos!, eosID!) : nil)
        let normalizer, preTokenizer, postProcessor, decoder, model: JSONValue
        switch ggufModel {
        case "gpt2":
            guard !merges.isEmpty else {
                throw TokenizerError.missingGGUFKey(key: "tokenizer.ggml.merges", reason: "a byte-level BPE vocabulary needs its merges")
            }
            let ignoreMerges: Bool
            (preTokenizer, ignoreMerges) = try byteLevelPreTokenizer(pre ?? "default")
            normalizer = .null
            let byteLevel: JSONValue = .object([("type", "ByteLevel"), ("add_prefix_space", true), ("trim_offsets", false),
                                                ("use_regex", true)])
            postProcessor = template.map { .object([("type", "Sequence"), ("processors", .array([byteLevel, $0]))]) } ?? byteLevel
            decoder = .object([("type", "ByteLevel"), ("add_prefix_space", true), ("trim_offsets", true), ("use_regex", true)])
            model = bpeModel(vocab: vocab, merges: try splitMerges(merges), unk: nil, byteFallback: false, ignoreMerges: ignoreMerges)
        case "llama":
            let pairs: [(String, String)]
            if !merges.isEmpty {
                pairs = try splitMerges(merges)
            } else {
                guard let scores, scores.count == tokens.count else {
                    throw TokenizerError.missingGGUFKey(
                        key: "tokenizer.ggml.merges",
                        reason: "and tokenizer.ggml.scores (needed to derive the merges) is absent or not one per token")
                }
                pairs = deriveMerges(tokens: tokens, tokenTypes: types, scores: scores)
            }
            // LLaMA-1/2 `tokenizer.json` as HF writes it (legacy normalizer form).
            normalizer = .object([("type", "Sequence"), ("normalizers", .array([
                .object([("type", "Prepend"), ("prepend", "▁")]),
                .object([("type", "Replace"), ("pattern", .object([("String", " ")])), ("content", "▁")]),
            ]))])
            preTokenizer = .null
            postProcessor = template ?? .null
            decoder = .object([("type", "Sequence"), ("decoders", .array([
                .object([("type", "Replace"), ("pattern", .object([("String", "▁")])), ("content", " ")]),
                .object([("type", "ByteFallback")]), .object([("type", "Fuse")]),
                .object([("type", "Strip"), ("content", " "), ("start", 1), ("stop", 0)]),
            ]))])
            model = bpeModel(vocab: vocab, merges: pairs, unk: unk, byteFallback: true, ignoreMerges: false)
        default:
            throw TokenizerError.unsupportedGGUFModel(model: ggufModel)
        }
        let json: JSONValue = .object([
            ("version", "1.0"), ("truncation", .null), ("padding", .null), ("added_tokens", .array(added)),
            ("normalizer", normalizer), ("pre_tokenizer", preTokenizer), ("post_processor", postProcessor),
            ("decoder", decoder), ("model", model),
        ])
        var config: [(String, JSONValue)] = [
            ("add_bos_token", .bool(addBOS)), ("add_eos_token", .bool(addEOS)),
            ("bos_token", .optional(bos)), ("eos_token", .optional(eos)), ("unk_token", .optional(unk)), ("pad_token", .optional(pad)),
            ("clean_up_tokenization_spaces", false), ("tokenizer_class", "PreTrainedTokenizerFast"),
        ]
        if let chatTemplate { config.append(("chat_template", .string(chatTemplate))) }
        return (Data(json.serialized().utf8), Data(JSONValue.object(config).serialized(indent: 2).utf8))
    }

    /// `tokenizer.ggml.pre` → (pre_tokenizer, ignore_merges), as llama.cpp `llama-vocab.cpp` maps it.
    static func byteLevelPreTokenizer(_ pre: String) throws -> (JSONValue, Bool) {
        let byteLevelRegex: JSONValue = .object([("type", "ByteLevel"), ("add_prefix_space", false), ("trim_offsets", true),
                                                 ("use_regex", true)])
        switch pre {
        case "gpt2", "default":
            return (byteLevelRegex, false)
        case "smollm":
            let digits: JSONValue = .object([("type", "Digits"), ("individual_digits", true)])
            return (.object([("type", "Sequence"), ("pretokenizers", .array([digits, byteLevelRegex]))]), false)
        case "llama-bpe", "llama3":
            // LLaMA-3's own tokenizer.json: the split regex, then ByteLevel without its regex, and
            // whole-word vocabulary hits bypass the merges (llama.cpp sets ignore_merges too).
            let split: JSONValue = .object([("type", "Split"), ("pattern", .object([("Regex", .string(SplitPattern.llama3Regex))])),
                                            ("behavior", "Isolated"), ("invert", false)])
            let byteLevel: JSONValue = .object([("type", "ByteLevel"), ("add_prefix_space", false), ("trim_offsets", true),
                                                ("use_regex", false)])
            return (.object([("type", "Sequence"), ("pretokenizers", .array([split, byteLevel]))]), true)
        case "qwen2", "deepseek-r1-qwen":
            // Qwen2's split regex (single digits), then ByteLevel without its regex; the merges are
            // applied to every word (llama.cpp `LLAMA_VOCAB_PRE_TYPE_QWEN2`, transformers'
            // `set_split_regex` for a GGUF). Qwen2's own tokenizer.json also NFC-normalizes; neither
            // llama.cpp nor transformers' GGUF tokenizer does, and owlprune follows them.
            let split: JSONValue = .object([("type", "Split"), ("pattern", .object([("Regex", .string(SplitPattern.qwen2Regex))])),
                                            ("behavior", "Isolated"), ("invert", false)])
            let byteLevel: JSONValue = .object([("type", "ByteLevel"), ("add_prefix_space", false), ("trim_offsets", true),
                                                ("use_regex", false)])
            return (.object([("type", "Sequence"), ("pretokenizers", .array([split, byteLevel]))]), false)
        default:
            throw TokenizerError.unknownPreTokenizer(pre: pre)
        }
    }

    private static func bpeModel(vocab: JSONValue, merges: [(String, String)], unk: String?, byteFallback: Bool,
                                 ignoreMerges: Bool) -> JSONValue {
        .object([("type", "BPE"), ("dropout", .null), ("unk_token", .optional(unk)), ("continuing_subword_prefix", .null),
                 ("end_of_word_suffix", .null), ("fuse_unk", .bool(byteFallback)), ("byte_fallback", .bool(byteFallback)),
                 ("ignore_merges", .bool(ignoreMerges)), ("vocab", vocab),
                 ("merges", .array(merges.map { .array([.string($0.0), .string($0.1)]) }))])
    }

    /// GGUF merges are `"a b"` with exactly one space (tokens never contain a plain space: it is
    /// `Ġ` or `▁`). Written back as two-element arrays, the unambiguous `tokenizer.json` form.
    private static func splitMerges(_ merges: [String]) throws -> [(String, String)] {
        try merges.enumerated().map { index, line in
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw TokenizerError.invalidGGUFVocabulary(
                    reason: "tokenizer.ggml.merges[\(index)] '\(line)' is not two tokens separated by one space")
            }
            return (String(parts[0]), String(parts[1]))
        }
    }

    private static func templateProcessor(bos: (String, Int)?, eos: (String, Int)?) -> JSONValue? {
        guard bos != nil || eos != nil else { return nil }
        func special(_ t: (String, Int)) -> JSONValue { .object([("SpecialToken", .object([("id", .string(t.0)), ("type_id", 0)]))]) }
        func sequence(_ id: String, _ typeID: Int) -> JSONValue { .object([("Sequence", .object([("id", .string(id)), ("type_id", .int(typeID))]))]) }
        let prefix = bos.map { [special($0)] } ?? []
        let suffix = eos.map { [special($0)] } ?? []
        var specials: [(String, JSONValue)] = []
        for t in [bos, eos].compactMap({ $0 }) where !specials.contains(where: { $0.0 == t.0 }) {
            specials.append((t.0, .object([("id", .string(t.0)), ("ids", .array([.int(t.1)])), ("tokens", .array([.string(t.0)]))])))
        }
        return .object([("type", "TemplateProcessing"),
                        ("single", .array(prefix + [sequence("A", 0)] + suffix)),
                        ("pair", .array(prefix + [sequence("A", 0)] + suffix + prefix + [sequence("B", 1)] + suffix)),
                        ("special_tokens", .object(specials))])
    }
}

/// `tokenizer.ggml.token_type` values (llama.cpp `LLAMA_TOKEN_TYPE_*`).
enum GGUFTokenType {
    static let normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}
