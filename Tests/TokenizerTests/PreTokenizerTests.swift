import Testing
@testable import Tokenizer

/// Pre-tokenizer splits, each case worked out by hand from the pattern (the same strings were
/// cross-checked against HF `tokenizers` 0.23.3 while writing this module).
private func pieces(_ pre: PreTokenizer, _ text: String, startsText: Bool = true) -> [String] {
    let scalars = text.unicodeScalars.map(\.value)
    var state = PreTokenizedText(scalars: scalars, pieces: [0..<scalars.count], startsText: startsText)
    pre.apply(&state)
    return state.pieces.map { String(scalarValues: state.scalars[$0]) }
}

private let gpt2 = PreTokenizer.byteLevel(addPrefixSpace: false, useRegex: true)
private let smollm = PreTokenizer.sequence([.digits(individual: true), gpt2])
private let llama3 = PreTokenizer.split(.llama3(maxDigits: 3))

struct GPT2PatternTests {
    @Test func wordsTakeOneLeadingSpace() {
        #expect(pieces(gpt2, "Hello world") == ["Hello", " world"])
        // Two spaces: `\s+(?!\S)` leaves the last space to the word.
        #expect(pieces(gpt2, "a  b") == ["a", " ", " b"])
    }

    @Test func contractionsAreCaseSensitive() {
        #expect(pieces(gpt2, "we'll've 'S") == ["we", "'ll", "'ve", " '", "S"])
        #expect(pieces(gpt2, "I'M") == ["I", "'", "M"])  // 'M is not a GPT-2 contraction
        // Apostrophes in a row are one punctuation run; the contraction alternative needs a letter next.
        #expect(pieces(gpt2, "''s") == ["''", "s"])
    }

    @Test func numbersAndPunctuationRuns() {
        #expect(pieces(gpt2, "It's 12345 dogs!?") == ["It", "'s", " 12345", " dogs", "!?"])
        #expect(pieces(gpt2, "x ½") == ["x", " ½"])  // ½ is \p{N} (No)
    }

    @Test func crlfBeforeAWordKeepsTheSpaceForTheWord() {
        // "\r\n " is a whitespace run followed by "b": all but its last character.
        #expect(pieces(gpt2, "a\r\n b") == ["a", "\r\n", " b"])
        // At the end of the piece the whole run is one match.
        #expect(pieces(gpt2, "a \r\n") == ["a", " \r\n"])
        // One whitespace character before a word is `\s+` alone.
        #expect(pieces(gpt2, "a\nb") == ["a", "\n", "b"])
    }

    @Test func nonSpaceWhitespaceNeverPrefixesAWord() {
        #expect(pieces(gpt2, "\tx\u{A0}y") == ["\t", "x", "\u{A0}", "y"])  // no-break space is \s, not " "
    }
}

struct DigitsTests {
    @Test func individualDigitsAreIsolated() {
        #expect(pieces(.digits(individual: true), "a123b") == ["a", "1", "2", "3", "b"])
        #expect(pieces(.digits(individual: false), "a123b") == ["a", "123", "b"])
    }

    @Test func smollmSplitsDigitsBeforeTheRegex() {
        // The README's example: with the digit split, " \r\n " ends its piece and stays whole;
        // GPT-2 alone gives " \r\n" and " 1".
        #expect(pieces(smollm, " : \r\n 1") == [" :", " \r\n ", "1"])
        #expect(pieces(gpt2, " : \r\n 1") == [" :", " \r\n", " 1"])
        #expect(pieces(smollm, "are ½") == ["are", " ", "½"])
        #expect(pieces(smollm, " 2024") == [" ", "2", "0", "2", "4"])
    }
}

struct LLaMA3PatternTests {
    @Test func contractionsIgnoreCase() {
        #expect(pieces(llama3, "I'M 'S") == ["I", "'M", " '", "S"])
    }

    @Test func digitsInGroupsOfThree() {
        #expect(pieces(llama3, "12345 x") == ["123", "45", " x"])
    }

    @Test func oneNonLetterPrefixesAWord() {
        #expect(pieces(llama3, "$hello\tworld") == ["$hello", "\tworld"])
    }

    @Test func lineBreaksEndTheirWhitespaceRun() {
        #expect(pieces(llama3, "a\r\n\r\n b") == ["a", "\r\n\r\n", " b"])
        #expect(pieces(llama3, "x.\n\ny") == ["x", ".\n\n", "y"])
        #expect(pieces(llama3, "a  \n") == ["a", "  \n"])
    }
}

struct MetaspaceTests {
    let replacement: UInt32 = 0x2581  // ▁

    @Test func spacesBecomeReplacementAndSplitBeforeIt() {
        let pre = PreTokenizer.metaspace(replacement: replacement, prependScheme: .always, split: true)
        #expect(pieces(pre, "Hello world") == ["▁Hello", "▁world"])
        // Already starting with ▁ (a leading space): nothing is prepended.
        #expect(pieces(pre, " Hi") == ["▁Hi"])
    }

    @Test func schemeFirstOnlyPrependsAtTheStartOfTheText() {
        let pre = PreTokenizer.metaspace(replacement: replacement, prependScheme: .first, split: false)
        #expect(pieces(pre, "Hello world") == ["▁Hello▁world"])
        #expect(pieces(pre, "Hello world", startsText: false) == ["Hello▁world"])
    }
}
