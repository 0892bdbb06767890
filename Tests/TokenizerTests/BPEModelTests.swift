import Testing
@testable import Tokenizer

/// Merge order by hand: ids are positions in `vocab`.
struct BPEModelTests {
    static func model(_ vocab: [String], _ merges: [(String, String)], unknown: String? = nil,
                      byteFallback: Bool = false, byteLevel: Bool = false) throws -> BPEModel {
        try BPEModel(vocab: Dictionary(uniqueKeysWithValues: vocab.enumerated().map { ($1, UInt32($0)) }),
                     merges: merges, file: "test", unknownToken: unknown, fuseUnknown: true,
                     byteFallback: byteFallback, ignoreMerges: false, byteLevel: byteLevel)
    }

    static func tokenize(_ model: BPEModel, _ word: String) -> [UInt32] {
        var out: [UInt32] = []
        model.tokenize(ArraySlice(word.unicodeScalars.map(\.value)), into: &out)
        return out
    }

    @Test func lowerRankMergesFirst() throws {
        let vocab = ["a", "b", "c", "ab", "bc", "abc"]
        // "b c" has rank 0: a·b·c → a·bc → abc (via "a bc").
        let first = try Self.model(vocab, [("b", "c"), ("a", "b"), ("a", "bc")])
        #expect(Self.tokenize(first, "abc") == [5])
        // Without "a bc", the same ranks stop at a·bc.
        let stuck = try Self.model(vocab, [("b", "c"), ("a", "b"), ("ab", "c")])
        #expect(Self.tokenize(stuck, "abc") == [0, 4])
        // "a b" first: ab·c → abc.
        let other = try Self.model(vocab, [("a", "b"), ("b", "c"), ("ab", "c")])
        #expect(Self.tokenize(other, "abc") == [5])
    }

    @Test func equalRanksGoLeftmost() throws {
        // "aaa": the pairs at 0 and 1 are the same merge; the leftmost wins → aa·a, not a·aa.
        let model = try Self.model(["a", "aa"], [("a", "a")])
        #expect(Self.tokenize(model, "aaa") == [1, 0])
        #expect(Self.tokenize(model, "aaaa") == [1, 1])
    }

    @Test func mergesReachBackAcrossEarlierMerges() throws {
        // x·y·x·y: "x y" (rank 0) twice, then "xy xy" (rank 1).
        let model = try Self.model(["x", "y", "xy", "xyxy"], [("x", "y"), ("xy", "xy")])
        #expect(Self.tokenize(model, "xyxyxy") == [3, 2])
    }

    @Test func byteFallbackAndFusedUnknowns() throws {
        let model = try Self.model(["<unk>", "a", "<0xC3>", "<0xA9>"], [], unknown: "<unk>", byteFallback: true)
        #expect(Self.tokenize(model, "aé") == [1, 2, 3])     // é = C3 A9
        #expect(Self.tokenize(model, "aZZa") == [1, 0, 1])   // no <0x5A>: one fused <unk>
    }

    @Test func byteLevelWordsStartFromBytes() throws {
        // Space is "Ġ" in byte-level spelling; "Ġ a" merges to "Ġa".
        let model = try Self.model(["Ġ", "a", "Ġa"], [("Ġ", "a")], byteLevel: true)
        #expect(Self.tokenize(model, " a") == [2])
    }

    @Test func aMergeOutsideTheVocabularyIsAnError() {
        #expect(throws: TokenizerError.self) { try Self.model(["a", "b"], [("a", "b")]) }
    }
}
