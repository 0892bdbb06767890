import Diagnostics
import Foundation
import Testing
import TestSupport
@testable import Tokenizer

/// In-process fuzzing of the `tokenizer.json` reader (issue 10 item 7): seeded mutants of a small
/// but complete tokenizer (normalizer, pre-tokenizer sequence, BPE with merges and byte fallback,
/// added tokens, template post-processor, decoder). A mutant is either accepted, and then encodes
/// and decodes a text with hostile characters, or rejected with a `TokenizerError` whose message
/// is one printable line. A trap kills the test process and fails the run.
@Suite struct TokenizerFuzzTests {
    static let mutants = 2000

    static let seed = Data(#"""
        {"version": "1.0", "truncation": null, "padding": null,
         "added_tokens": [{"id": 0, "content": "<s>", "special": true}, {"id": 1, "content": "</s>", "special": true}],
         "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
                        {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
         "pre_tokenizer": null,
         "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                            {"Sequence": {"id": "A", "type_id": 0}}], "pair": [],
                            "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]}}},
         "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
                     {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
         "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": null,
                   "end_of_word_suffix": null, "fuse_unk": true, "byte_fallback": true, "ignore_merges": false,
                   "vocab": {"<s>": 0, "</s>": 1, "<unk>": 2, "<0x0A>": 3, "<0x41>": 4, "▁": 5, "a": 6, "b": 7, "ab": 8,
                             "▁ab": 9, "c": 10, "abc": 11, "é": 12},
                   "merges": ["a b", "▁ ab", "ab c"]}}
        """#.utf8)

    @Test func tokenizerJSON() throws {
        var mutator = Mutator(seed: 20)
        var rejected = 0
        var bad: [String] = []
        let start = Date()
        let text = "ab abc\n\u{1B}[2J é A \u{0}"
        for index in 0..<Self.mutants {
            let mutant = mutator.mutate(Self.seed, json: true)
            do {
                let tokenizer = try Tokenizer(tokenizerJSON: mutant)
                let ids = tokenizer.encode(text)
                _ = tokenizer.decode(ids)
            } catch let error as TokenizerError {
                rejected += 1
                let message = error.localizedDescription
                if !isPrintableLine(message) { bad.append("mutant \(index): not one printable line: \(message.debugDescription)") }
            } catch {
                bad.append("mutant \(index): untyped error \(type(of: error)): \(error)")
            }
        }
        print("fuzz tokenizer.json: \(Self.mutants) mutants (seed 20), \(rejected) rejected, \(String(format: "%.2f", Date().timeIntervalSince(start))) s")
        #expect(bad.isEmpty, "\(bad.prefix(5).joined(separator: "; "))")
        #expect(rejected > Self.mutants / 10 && rejected < Self.mutants, "\(rejected) of \(Self.mutants) rejected")
    }

    @Test func seedIsValid() throws {
        let tokenizer = try Tokenizer(tokenizerJSON: Self.seed)
        #expect(tokenizer.encode("ab").first == 0)
    }
}
