import Diagnostics
import Foundation

/// A LLaMA-family tokenizer read from HF `tokenizer.json` (+ `tokenizer_config.json`): byte-level
/// BPE (GPT-2, LLaMA-3, SmolLM) or SentencePiece-style BPE (LLaMA-1/2). Immutable, so one
/// instance can serve any number of threads; the per-word cache lives inside each `encode` call.
public final class Tokenizer: Sendable {
    let model: BPEModel
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let decoder: Decoder?
    let addedTokens: AddedTokenMatcher
    private let tokenOfID: [String?]

    /// The largest token id accepted. The id→token table is as long as the largest id, so an id
    /// of 2^32−1 in a crafted file would ask for a 64 GiB table; 2^24−1 is 64 times the largest
    /// vocabulary in use (Gemma's 256k) and keeps that table under 300 MB.
    static let maxTokenID = (1 << 24) - 1

    /// Whether `encode` puts one BOS in front (docs/algorithms.md §11.2).
    public let addsBOS: Bool
    public let bosTokenID: UInt32?
    public let eosTokenID: UInt32?
    /// Highest id in the vocabulary or the added tokens, plus one.
    public let vocabularySize: Int

    public convenience init(tokenizerJSON: Data, tokenizerConfigJSON: Data? = nil) throws {
        try self.init(tokenizerJSON: tokenizerJSON, tokenizerConfigJSON: tokenizerConfigJSON,
                      jsonName: "tokenizer.json", configName: "tokenizer_config.json")
    }

    init(tokenizerJSON: Data, tokenizerConfigJSON: Data?, jsonName: String, configName: String) throws {
        let json = try JSONFields.parse(tokenizerJSON, file: jsonName)
        let config = try tokenizerConfigJSON.map { try JSONFields.parse($0, file: configName) }

        normalizer = try json.object("normalizer")?.normalizer()
        preTokenizer = try json.object("pre_tokenizer")?.preTokenizer()
        decoder = try json.object("decoder")?.decoder()

        guard let modelJSON = try json.object("model") else { throw TokenizerError.missingField(file: jsonName, field: "model") }
        let modelType = try modelJSON.optional("type", String.self) ?? "BPE"
        guard modelType == "BPE" else { throw modelJSON.unsupported(modelType) }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let affix = try modelJSON.optional(key, String.self), !affix.isEmpty { throw modelJSON.invalid(key, "not supported") }
        }
        if let dropout = try modelJSON.optional("dropout", Double.self), dropout > 0 {
            throw modelJSON.invalid("dropout", "BPE dropout is random; not supported")
        }
        let vocabJSON = try modelJSON.required("vocab", [String: Int].self)
        var vocab: [String: UInt32] = [:]
        vocab.reserveCapacity(vocabJSON.count)
        for (token, id) in vocabJSON {
            guard id >= 0 else { throw modelJSON.invalid("vocab", "id \(id) of '\(token)' is negative") }
            guard id <= Self.maxTokenID else {
                throw modelJSON.invalid("vocab", "id \(id) of '\(token)' is above the limit of \(Self.maxTokenID)")
            }
            vocab[token] = UInt32(id)
        }
        model = try BPEModel(vocab: vocab, merges: try modelJSON.merges(), file: jsonName,
                             unknownToken: try modelJSON.optional("unk_token", String.self),
                             fuseUnknown: try modelJSON.optional("fuse_unk", Bool.self) ?? false,
                             byteFallback: try modelJSON.optional("byte_fallback", Bool.self) ?? false,
                             ignoreMerges: try modelJSON.optional("ignore_merges", Bool.self) ?? false,
                             byteLevel: preTokenizer?.isByteLevel ?? false)

        var added: [(content: String, id: UInt32)] = []
        let addedJSON = json.values["added_tokens"] is [Any] ? try json.objects("added_tokens") : []
        for entry in addedJSON {
            let id = try entry.required("id", Int.self)
            guard id >= 0 && id <= Self.maxTokenID else { throw entry.invalid("id", "\(id) out of range") }
            added.append((try entry.required("content", String.self), UInt32(id)))
        }
        addedTokens = AddedTokenMatcher(added)

        let maxID = max(vocab.values.max().map(Int.init) ?? -1, added.map { Int($0.id) }.max() ?? -1)
        var tokens = [String?](repeating: nil, count: maxID + 1)
        for (token, id) in vocab { tokens[Int(id)] = token }
        for (content, id) in added { tokens[Int(id)] = content }
        tokenOfID = tokens
        vocabularySize = maxID + 1

        // BOS rule (docs/algorithms.md §11.2): `add_bos_token` decides when present; otherwise a
        // TemplateProcessing post-processor whose single template starts with the BOS token.
        var ids: [String: UInt32] = vocab
        for (content, id) in added { ids[content] = id }
        func idOf(_ field: String) throws -> UInt32? {
            guard let config, let name = tokenContent(config.values[field]) else { return nil }
            guard let id = ids[name] else { throw TokenizerError.unknownSpecialToken(file: configName, field: field, token: name) }
            return id
        }
        let configBOS = try idOf("bos_token")
        let template = try json.object("post_processor")?.leadingTemplateToken()
        let configAddsBOS = try config?.optional("add_bos_token", Bool.self)
        bosTokenID = configBOS ?? template?.id
        eosTokenID = try idOf("eos_token")
        addsBOS = configAddsBOS ?? (template != nil && (configBOS == nil || configBOS == template?.id))
        if addsBOS && bosTokenID == nil {
            throw TokenizerError.missingField(file: configName, field: "bos_token")
        }
    }

    /// Reads `tokenizer.json` and, if present, `tokenizer_config.json` from a model directory.
    public static func load(directory: URL) throws -> Tokenizer {
        let jsonURL = directory.appendingPathComponent("tokenizer.json")
        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        func read(_ url: URL) throws -> Data {
            do { return Data(try InputFile.bytes(url.path)) } catch {
                throw TokenizerError.unreadableFile(file: url.path, reason: fileErrorCause(error))
            }
        }
        let config = FileManager.default.fileExists(atPath: configURL.path) ? try read(configURL) : nil
        return try Tokenizer(tokenizerJSON: try read(jsonURL), tokenizerConfigJSON: config,
                             jsonName: jsonURL.path, configName: configURL.path)
    }

    /// Token ids of `text`: BOS if the configuration adds it, added tokens found literally, the
    /// rest normalized, pre-tokenized and BPE-merged. No EOS is ever appended (docs/algorithms.md §2.1).
    public func encode(_ text: String) -> [UInt32] {
        let scalars = text.unicodeScalars.map(\.value)
        var out: [UInt32] = []
        out.reserveCapacity(scalars.count / 3 + 1)
        if addsBOS, let bosTokenID { out.append(bosTokenID) }
        var cache: [[UInt32]: [UInt32]] = [:]
        for segment in addedTokens.segments(scalars) {
            switch segment {
            case let .token(id): out.append(id)
            case let .text(range): encodeText(scalars[range], startsText: range.lowerBound == 0, into: &out, cache: &cache)
            }
        }
        return out
    }

    /// Words up to this many scalars are cached; longer ones are rare and would bloat the cache.
    private static let cachedWordLength = 64

    private func encodeText(_ text: ArraySlice<UInt32>, startsText: Bool, into out: inout [UInt32],
                            cache: inout [[UInt32]: [UInt32]]) {
        let normalized = normalizer?.apply(Array(text)) ?? Array(text)
        guard !normalized.isEmpty else { return }
        var pre = PreTokenizedText(scalars: normalized, pieces: [0..<normalized.count], startsText: startsText)
        preTokenizer?.apply(&pre)
        for piece in pre.pieces {
            let word = pre.scalars[piece]
            guard word.count <= Self.cachedWordLength else {
                model.tokenize(word, into: &out)
                continue
            }
            let key = Array(word)
            if let ids = cache[key] {
                out += ids
            } else {
                var ids: [UInt32] = []
                model.tokenize(word, into: &ids)
                cache[key] = ids
                out += ids
            }
        }
    }

    /// The text of `ids`, special tokens included, through the `tokenizer.json` decoder (or,
    /// without one, the tokens joined by spaces, as HF does). Unknown ids are skipped.
    public func decode(_ ids: [UInt32]) -> String {
        let tokens = ids.compactMap { Int($0) < tokenOfID.count ? tokenOfID[Int($0)] : nil }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decodeChain(tokens).joined()
    }

    /// The vocabulary string of one id, or nil.
    public func token(of id: UInt32) -> String? {
        Int(id) < tokenOfID.count ? tokenOfID[Int(id)] : nil
    }
}
