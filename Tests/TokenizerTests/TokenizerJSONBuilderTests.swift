import Foundation
import Testing
@testable import Tokenizer

/// GGUF arrays → `tokenizer.json`, on vocabularies small enough to check by hand. (The SmolLM2
/// vocabulary itself is checked in `SmolLM2ReferenceTests`.)
struct TokenizerJSONBuilderTests {
    /// Two added tokens, the 256 byte characters, then three merged tokens.
    static let byteTokens = (0..<256).map { String(Unicode.Scalar(ByteLevelTable.characterOfByte[$0])!) }
    static let gpt2Tokens = ["<|endoftext|>", "<|user|>"] + byteTokens + ["Ġt", "he", "Ġthe"]
    static let gpt2Types = [3, 4] + Array(repeating: 1, count: 259)
    static let gpt2Merges = ["Ġ t", "h e", "Ġt he"]
    static func id(_ token: String) -> UInt32 { UInt32(gpt2Tokens.firstIndex(of: token)!) }

    static func buildGPT2(pre: String?, addBOS: Bool = false) throws -> (tokenizerJSON: Data, tokenizerConfigJSON: Data) {
        try TokenizerJSONBuilder.build(ggufModel: "gpt2", pre: pre, tokens: gpt2Tokens, tokenTypes: gpt2Types,
                                       merges: gpt2Merges, scores: nil, bosID: 0, eosID: 0, unkID: nil, padID: nil,
                                       addBOS: addBOS, addEOS: false, chatTemplate: "{{ messages }}")
    }

    static func object(_ data: Data) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func smollmIsDigitsThenByteLevel() throws {
        let files = try Self.buildGPT2(pre: "smollm")
        let json = try Self.object(files.tokenizerJSON)
        let pre = try #require(json["pre_tokenizer"] as? [String: Any])
        #expect(pre["type"] as? String == "Sequence")
        let stages = try #require(pre["pretokenizers"] as? [[String: Any]])
        #expect(stages.map { $0["type"] as? String } == ["Digits", "ByteLevel"])
        #expect(stages[0]["individual_digits"] as? Bool == true)
        #expect(stages[1]["add_prefix_space"] as? Bool == false && stages[1]["use_regex"] as? Bool == true)

        let tokenizer = try Tokenizer(tokenizerJSON: files.tokenizerJSON, tokenizerConfigJSON: files.tokenizerConfigJSON)
        #expect(tokenizer.encode(" the") == [Self.id("Ġthe")])
        #expect(tokenizer.encode(" 12") == [Self.id("Ġ"), Self.id("1"), Self.id("2")])
        #expect(tokenizer.decode(tokenizer.encode("a the 12\r\n")) == "a the 12\r\n")
    }

    @Test func controlAndUserDefinedTokensBecomeAddedTokens() throws {
        let files = try Self.buildGPT2(pre: "gpt2")
        let added = try #require(try Self.object(files.tokenizerJSON)["added_tokens"] as? [[String: Any]])
        #expect(added.map { $0["content"] as? String } == ["<|endoftext|>", "<|user|>"])
        #expect(added.map { $0["special"] as? Bool } == [true, false])
        let tokenizer = try Tokenizer(tokenizerJSON: files.tokenizerJSON, tokenizerConfigJSON: files.tokenizerConfigJSON)
        #expect(tokenizer.encode("<|user|> the<|endoftext|>") == [1, Self.id("Ġthe"), 0])
    }

    @Test func configCarriesBOSAndChatTemplate() throws {
        let files = try Self.buildGPT2(pre: nil, addBOS: true)
        let config = try Self.object(files.tokenizerConfigJSON)
        #expect(config["add_bos_token"] as? Bool == true && config["bos_token"] as? String == "<|endoftext|>")
        #expect(config["chat_template"] as? String == "{{ messages }}")
        let tokenizer = try Tokenizer(tokenizerJSON: files.tokenizerJSON, tokenizerConfigJSON: files.tokenizerConfigJSON)
        #expect(tokenizer.encode(" the") == [0, Self.id("Ġthe")])
        // The post-processor alone (no config) says the same.
        #expect(try Tokenizer(tokenizerJSON: files.tokenizerJSON).addsBOS)
    }

    @Test func llama3UsesTheSplitRegexAndIgnoresMerges() throws {
        let json = try Self.object(try Self.buildGPT2(pre: "llama-bpe").tokenizerJSON)
        let model = try #require(json["model"] as? [String: Any])
        #expect(model["ignore_merges"] as? Bool == true)
        let stages = try #require((json["pre_tokenizer"] as? [String: Any])?["pretokenizers"] as? [[String: Any]])
        #expect((stages[0]["pattern"] as? [String: Any])?["Regex"] as? String == SplitPattern.llama3Regex)
    }

    /// `qwen2`: the Qwen2 split regex (digits one by one), ByteLevel without its regex, merges
    /// applied to every word (issue 25). Control: `llama-bpe` keeps up to three digits together.
    @Test func qwen2SplitsDigitsOneByOneAndKeepsMerges() throws {
        let files = try Self.buildGPT2(pre: "qwen2")
        let json = try Self.object(files.tokenizerJSON)
        #expect((json["model"] as? [String: Any])?["ignore_merges"] as? Bool == false)
        let stages = try #require((json["pre_tokenizer"] as? [String: Any])?["pretokenizers"] as? [[String: Any]])
        #expect(stages.map { $0["type"] as? String } == ["Split", "ByteLevel"])
        #expect((stages[0]["pattern"] as? [String: Any])?["Regex"] as? String == SplitPattern.qwen2Regex)
        #expect(stages[1]["use_regex"] as? Bool == false)
        let qwen = try Tokenizer(tokenizerJSON: files.tokenizerJSON, tokenizerConfigJSON: files.tokenizerConfigJSON)
        #expect(qwen.encode("the the") == [Self.id("t"), Self.id("he"), Self.id("Ġthe")])
        let text = Array("a 1234".unicodeScalars.map(\.value))
        func pieces(_ regex: String) -> [Range<Int>] {
            var out: [Range<Int>] = []
            SplitPattern(regex: regex)!.split(text, 0..<text.count, into: &out)
            return out
        }
        #expect(pieces(SplitPattern.qwen2Regex) == [0..<1, 1..<2, 2..<3, 3..<4, 4..<5, 5..<6])
        #expect(pieces(SplitPattern.llama3Regex) == [0..<1, 1..<2, 2..<5, 5..<6])
    }

    @Test func unknownNamesAndMissingKeysAreErrors() {
        #expect(throws: TokenizerError.unknownPreTokenizer(pre: "tekken")) { try Self.buildGPT2(pre: "tekken") }
        #expect(throws: TokenizerError.unsupportedGGUFModel(model: "bert")) {
            try TokenizerJSONBuilder.build(ggufModel: "bert", pre: nil, tokens: ["a"], tokenTypes: [1], merges: [], scores: nil,
                                           bosID: nil, eosID: nil, unkID: nil, padID: nil, addBOS: false, addEOS: false, chatTemplate: nil)
        }
        #expect(throws: TokenizerError.self) {
            try TokenizerJSONBuilder.build(ggufModel: "llama", pre: nil, tokens: ["a"], tokenTypes: [1], merges: [], scores: nil,
                                           bosID: nil, eosID: nil, unkID: nil, padID: nil, addBOS: false, addEOS: false, chatTemplate: nil)
        }
        #expect(throws: TokenizerError.self) {  // add_bos_token without a BOS id
            try TokenizerJSONBuilder.build(ggufModel: "gpt2", pre: nil, tokens: Self.gpt2Tokens, tokenTypes: Self.gpt2Types,
                                           merges: Self.gpt2Merges, scores: nil, bosID: nil, eosID: nil, unkID: nil, padID: nil,
                                           addBOS: true, addEOS: false, chatTemplate: nil)
        }
    }

    /// A SentencePiece vocabulary without merges: they come from the scores.
    static let spmTokens = ["<unk>", "<s>", "</s>", "▁", "a", "b", "ab", "▁ab", "▁a"]
    static let spmTypes = [2, 3, 3, 1, 1, 1, 1, 1, 1]
    static let spmScores: [Float] = [0, 0, 0, -1, -2, -3, -10, -11, -5]

    @Test func sentencePieceMergesAreDerivedFromScores() throws {
        // By merged-piece score: ▁a (-5), ab (-10), ▁ab (-11, its splits by left id: ▁|ab, ▁a|b).
        let merges = TokenizerJSONBuilder.deriveMerges(tokens: Self.spmTokens, tokenTypes: Self.spmTypes, scores: Self.spmScores)
        #expect(merges.map { "\($0.0) \($0.1)" } == ["▁ a", "a b", "▁ ab", "▁a b"])

        let files = try TokenizerJSONBuilder.build(ggufModel: "llama", pre: nil, tokens: Self.spmTokens, tokenTypes: Self.spmTypes,
                                                   merges: [], scores: Self.spmScores, bosID: 1, eosID: 2, unkID: 0, padID: nil,
                                                   addBOS: true, addEOS: false, chatTemplate: nil)
        let tokenizer = try Tokenizer(tokenizerJSON: files.tokenizerJSON, tokenizerConfigJSON: files.tokenizerConfigJSON)
        // "ab" → "▁ab": ▁·a·b → ▁a·b → ▁ab. "c" has neither a piece nor a byte token → <unk>.
        #expect(tokenizer.encode("ab") == [1, 7])
        #expect(tokenizer.encode("ab c") == [1, 7, 3, 0])
        #expect(tokenizer.decode([7, 7]) == "ab ab")
    }
}
