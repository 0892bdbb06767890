import Foundation
import Testing
@testable import Tokenizer

/// A hand-made LLaMA-2-style `tokenizer.json`: `▁` pieces, byte fallback, `<s>` added by a
/// TemplateProcessing post-processor, in the legacy (Prepend + Replace) and the newer (Metaspace)
/// forms HF writes.
enum TinyLlama {
    static let vocab = ["<unk>", "<s>", "</s>", "<0x0A>", "<0xC3>", "<0xA9>", "▁", "H", "e", "l", "o", "w", "r", "d",
                        "ll", "▁H", "▁He", "▁Hell", "▁Hello", "▁w", "or", "▁wor", "▁worl", "▁world"]
    static let merges = [("l", "l"), ("▁", "H"), ("▁H", "e"), ("▁He", "ll"), ("▁Hell", "o"),
                         ("▁", "w"), ("o", "r"), ("▁w", "or"), ("▁wor", "l"), ("▁worl", "d")]
    static func id(_ token: String) -> UInt32 { UInt32(vocab.firstIndex(of: token)!) }

    /// `mergesAsArrays` writes `["a", "b"]` instead of `"a b"`; `metaspace` the newer layout.
    static func json(mergesAsArrays: Bool = false, metaspace: Bool = false, template: Bool = true) -> Data {
        let vocabJSON = vocab.enumerated().map { "\"\($1)\": \($0)" }.joined(separator: ", ")
        let mergesJSON = merges.map { mergesAsArrays ? "[\"\($0.0)\", \"\($0.1)\"]" : "\"\($0.0) \($0.1)\"" }
            .joined(separator: ", ")
        let legacy = """
            "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
                {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
            "pre_tokenizer": null,
            "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
                {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
            """
        let newer = """
            "normalizer": null,
            "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false},
            "decoder": {"type": "Sequence", "decoders": [{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first",
                "split": false}, {"type": "ByteFallback"}, {"type": "Fuse"}]},
            """
        let post = template ? """
            {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}}], "pair": [],
                "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}}
            """ : "null"
        return Data("""
            {"version": "1.0", "added_tokens": [
                {"id": 0, "content": "<unk>", "special": true, "normalized": false},
                {"id": 1, "content": "<s>", "special": true, "normalized": false},
                {"id": 2, "content": "</s>", "special": true, "normalized": false}],
            \(metaspace ? newer : legacy)
            "post_processor": \(post),
            "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "fuse_unk": true, "byte_fallback": true,
                "vocab": {\(vocabJSON)}, "merges": [\(mergesJSON)]}}
            """.utf8)
    }
}

struct SentencePieceTokenizerTests {
    @Test func encodesWithBOSFromTheTemplate() throws {
        let tokenizer = try Tokenizer(tokenizerJSON: TinyLlama.json())
        #expect(tokenizer.addsBOS && tokenizer.bosTokenID == 1)
        #expect(tokenizer.vocabularySize == TinyLlama.vocab.count)
        // "▁Hello▁world" after Prepend + Replace.
        #expect(tokenizer.encode("Hello world") == [1, TinyLlama.id("▁Hello"), TinyLlama.id("▁world")])
    }

    @Test func bothMergeFormatsGiveTheSameTokenizer() throws {
        let strings = try Tokenizer(tokenizerJSON: TinyLlama.json(mergesAsArrays: false))
        let arrays = try Tokenizer(tokenizerJSON: TinyLlama.json(mergesAsArrays: true))
        #expect(strings.encode("Hello world wor") == arrays.encode("Hello world wor"))
    }

    @Test func byteFallbackAndUnknownAndDecode() throws {
        let tokenizer = try Tokenizer(tokenizerJSON: TinyLlama.json())
        let ids = tokenizer.encode("Hello é\n")
        // é = C3 A9, "\n" = 0A, all byte tokens; "▁" alone before them.
        #expect(ids == [1, TinyLlama.id("▁Hello"), TinyLlama.id("▁"), 4, 5, 3])
        #expect(tokenizer.decode(Array(ids.dropFirst())) == "Hello é\n")
        #expect(tokenizer.decode(ids) == "<s> Hello é\n")  // as HF with skip_special_tokens=False
        // "Z" has neither a piece nor a byte token: consecutive ones fuse into one <unk>.
        #expect(tokenizer.encode("ZZ") == [1, TinyLlama.id("▁"), 0])
    }

    @Test func configDecidesBOSOverTheTemplate() throws {
        let off = try Tokenizer(tokenizerJSON: TinyLlama.json(), tokenizerConfigJSON: Data(#"{"add_bos_token": false, "bos_token": "<s>"}"#.utf8))
        #expect(!off.addsBOS)
        #expect(off.encode("Hello") == [TinyLlama.id("▁Hello")])
        let on = try Tokenizer(tokenizerJSON: TinyLlama.json(template: false),
                               tokenizerConfigJSON: Data(#"{"add_bos_token": true, "bos_token": {"content": "<s>"}, "eos_token": "</s>"}"#.utf8))
        #expect(on.addsBOS && on.bosTokenID == 1 && on.eosTokenID == 2)
        #expect(on.encode("Hello") == [1, TinyLlama.id("▁Hello")])
        let none = try Tokenizer(tokenizerJSON: TinyLlama.json(template: false))
        #expect(!none.addsBOS && none.bosTokenID == nil)
    }

    @Test func specialTokensInTextAreMatchedLiterally() throws {
        let legacy = try Tokenizer(tokenizerJSON: TinyLlama.json())
        // Legacy Prepend applies to every stretch between added tokens; exactly one BOS in front.
        #expect(legacy.encode("Hello</s>Hello") == [1, TinyLlama.id("▁Hello"), 2, TinyLlama.id("▁Hello")])
        // Metaspace `first` prepends ▁ only at the start of the text.
        let metaspace = try Tokenizer(tokenizerJSON: TinyLlama.json(metaspace: true))
        let hello = ["H", "e", "ll", "o"].map(TinyLlama.id)
        #expect(metaspace.encode("Hello</s>Hello") == [1, TinyLlama.id("▁Hello"), 2] + hello)
        #expect(metaspace.decode(Array(metaspace.encode("Hello world").dropFirst())) == "Hello world")
    }

    @Test func unsupportedComponentsAreNamed() {
        let json = String(decoding: TinyLlama.json(), as: UTF8.self)
            .replacingOccurrences(of: #""pre_tokenizer": null"#, with: #""pre_tokenizer": {"type": "Whitespace"}"#)
        #expect(throws: TokenizerError.unsupportedComponent(file: "tokenizer.json", field: "pre_tokenizer", type: "Whitespace")) {
            try Tokenizer(tokenizerJSON: Data(json.utf8))
        }
        let badConfig = Data(#"{"add_bos_token": true, "bos_token": "<bos>"}"#.utf8)
        #expect(throws: TokenizerError.unknownSpecialToken(file: "tokenizer_config.json", field: "bos_token", token: "<bos>")) {
            try Tokenizer(tokenizerJSON: TinyLlama.json(), tokenizerConfigJSON: badConfig)
        }
    }
}
