import Checkpoint
import Foundation
import TestSupport
import Testing
@testable import Tokenizer

/// The end-to-end check: SmolLM2's tokenizer built from its GGUF arrays must reproduce every id
/// of the reference token files in `Tests/Fixtures/smollm2/` (made with HF `tokenizers`; its README
/// says how), and decoding must give the text back.
@Suite struct SmolLM2ReferenceTests {
    static let built: Result<Tokenizer, any Error> = Result { try buildFromGGUF() }

    static func buildFromGGUF() throws -> Tokenizer {
        let gguf = try GGUFFile(url: RepoPaths.require(RepoPaths.smolGGUF))
        let files = try TokenizerJSONBuilder.build(
            ggufModel: try gguf.string("tokenizer.ggml.model"), pre: try gguf.string("tokenizer.ggml.pre"),
            tokens: try gguf.strings("tokenizer.ggml.tokens"), tokenTypes: try gguf.ints("tokenizer.ggml.token_type"),
            merges: try gguf.strings("tokenizer.ggml.merges"), scores: nil,
            bosID: try gguf.int("tokenizer.ggml.bos_token_id"), eosID: try gguf.int("tokenizer.ggml.eos_token_id"),
            unkID: try gguf.int("tokenizer.ggml.unknown_token_id"), padID: try gguf.int("tokenizer.ggml.padding_token_id"),
            addBOS: try #require(gguf.bool("tokenizer.ggml.add_bos_token") as Bool?), addEOS: false, chatTemplate: nil)
        return try Tokenizer(tokenizerJSON: files.tokenizerJSON, tokenizerConfigJSON: files.tokenizerConfigJSON)
    }

    @Test func configurationMatchesGGUF() throws {
        let tokenizer = try Self.built.get()
        #expect(tokenizer.vocabularySize == 49152)
        #expect(tokenizer.addsBOS == false)  // tokenizer.ggml.add_bos_token = false
        #expect(tokenizer.bosTokenID == 1)
        #expect(tokenizer.eosTokenID == 2)
        #expect(tokenizer.encode("<|im_start|>user") == [1] + tokenizer.encode("user"))
    }

    @Test func wikiTestRawMatchesReferenceIDs() throws {
        try checkFile(RepoPaths.wikitext.appendingPathComponent("wiki.test.raw"),
                      reference: RepoPaths.smolFixtures.appendingPathComponent("wiki.test.raw.ids"))
    }

    @Test func wikiValidTokensMatchesReferenceIDs() throws {
        try checkFile(RepoPaths.wikitext.appendingPathComponent("wiki.valid.tokens"),
                      reference: RepoPaths.smolFixtures.appendingPathComponent("wiki.valid.tokens.ids"))
    }

    private func checkFile(_ textURL: URL, reference: URL) throws {
        let tokenizer = try Self.built.get()
        let text = try readTextFile(RepoPaths.require(textURL))  // BOM stripped (valid file has one)
        let expected = try readIDs(RepoPaths.require(reference))
        let start = ContinuousClock.now
        let ids = tokenizer.encode(text)
        print("\(textURL.lastPathComponent): \(ids.count) tokens in \(ContinuousClock.now - start) (debug build)")
        expectSameIDs(ids, expected, tokenizer: tokenizer, name: textURL.lastPathComponent)
        #expect(tokenizer.decode(ids) == text)
    }
}

/// Little-endian uint32 ids, nothing else (README beside the reference files).
func readIDs(_ url: URL) throws -> [UInt32] {
    let bytes = [UInt8](try Data(contentsOf: url))
    #expect(bytes.count % 4 == 0, "\(url.lastPathComponent): \(bytes.count) bytes is not a multiple of 4")
    return stride(from: 0, to: bytes.count - 3, by: 4).map { k in
        UInt32(bytes[k]) | UInt32(bytes[k + 1]) << 8 | UInt32(bytes[k + 2]) << 16 | UInt32(bytes[k + 3]) << 24
    }
}

/// Records one issue naming the first differing index, with the tokens around it on both sides.
func expectSameIDs(_ got: [UInt32], _ expected: [UInt32], tokenizer: Tokenizer, name: String,
                   sourceLocation: SourceLocation = #_sourceLocation) {
    guard got != expected else { return }
    let common = min(got.count, expected.count)
    let index = (0..<common).first { got[$0] != expected[$0] } ?? common
    func around(_ ids: [UInt32]) -> String {
        let window = ids[max(0, index - 4)..<min(ids.count, index + 4)]
        let tokens = window.map { tokenizer.token(of: $0) ?? "?" }
        return "\(Array(window)) \(tokens) text \(tokenizer.decode(Array(window)).debugDescription)"
    }
    let message = "\(name): \(got.count) ids vs \(expected.count) expected; first difference at index \(index): "
        + "got \(around(got)), expected \(around(expected))"
    Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
}
