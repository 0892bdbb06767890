/// Hand-written scanners for the two split regexes byte-level BPE tokenizers use. Swift `Regex`
/// is far too slow for a megabyte of text, and these patterns are simple enough that each
/// alternative can be written out, in the pattern's order, with its backtracking resolved by
/// hand. Each scanner appends the matches covering `range` (the patterns match every
/// character, so the matches tile the range — HF `Split`/`ByteLevel` with behaviour `Isolated`).
enum SplitPattern: Sendable, Equatable {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    /// (openai/gpt-2 `src/encoder.py`; HF `tokenizers` ByteLevel `use_regex`).
    case gpt2
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,k}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    /// with k = 3 (LLaMA-3 `tokenizer.json`, llama.cpp `llama-bpe`) or k = 1 (Qwen2).
    case llama3(maxDigits: Int)

    static let gpt2Regex = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let llama3Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2Regex =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// The pattern a `Split` pre-tokenizer's regex string denotes, or nil if it is none we scan.
    init?(regex: String) {
        switch regex {
        case Self.gpt2Regex: self = .gpt2
        case Self.llama3Regex: self = .llama3(maxDigits: 3)
        case Self.qwen2Regex: self = .llama3(maxDigits: 1)
        default: return nil
        }
    }

    func split(_ s: [UInt32], _ range: Range<Int>, into out: inout [Range<Int>]) {
        var i = range.lowerBound
        while i < range.upperBound {
            let end: Int
            switch self {
            case .gpt2: end = gpt2Match(s, i, range.upperBound)
            case let .llama3(k): end = llama3Match(s, i, range.upperBound, maxDigits: k)
            }
            out.append(i..<end)
            i = end
        }
    }
}

/// Length of a contraction (`'s 't 'm 'd` → 2, `'re 've 'll` → 3) starting at `i`, else 0.
/// `caseInsensitive` is the LLaMA-3 `(?i:…)`; under Unicode case folding `ſ` (U+017F) is an `s`.
@inline(__always)
private func contractionLength(_ s: [UInt32], _ i: Int, _ e: Int, caseInsensitive: Bool) -> Int {
    guard s[i] == 0x27, i + 1 < e else { return 0 }
    func lower(_ v: UInt32) -> UInt32 {
        guard caseInsensitive else { return v }
        if v >= 0x41 && v <= 0x5A { return v + 0x20 }
        return v == 0x17F ? 0x73 : v
    }
    let a = lower(s[i + 1])
    if a == 0x73 || a == 0x74 || a == 0x6D || a == 0x64 { return 2 }  // s t m d
    guard i + 2 < e else { return 0 }
    let b = lower(s[i + 2])
    if (a == 0x72 && b == 0x65) || (a == 0x76 && b == 0x65) || (a == 0x6C && b == 0x6C) { return 3 }  // re ve ll
    return 0
}

@inline(__always)
private func run(_ s: [UInt32], from i: Int, _ e: Int, while test: (UInt32) -> Bool) -> Int {
    var j = i
    while j < e && test(s[j]) { j += 1 }
    return j
}

/// End of the whitespace alternatives `\s+(?!\S)|\s+` at `i` (s[i] is whitespace): the whole run
/// if it reaches the end of the piece or is one character long; otherwise the run minus its last
/// character, which is left to prefix the following word (`"  a"` → `" "`, `" a"`).
@inline(__always)
private func whitespaceEnd(_ s: [UInt32], _ i: Int, _ e: Int) -> Int {
    let k = run(s, from: i, e, while: isWhitespace)
    return (k == e || k - i == 1) ? k : k - 1
}

private func gpt2Match(_ s: [UInt32], _ i: Int, _ e: Int) -> Int {
    let n = contractionLength(s, i, e, caseInsensitive: false)
    if n > 0 { return i + n }
    // ` ?\p{L}+ | ?\p{N}+ | ?[^\s\p{L}\p{N}]+`: the optional space is taken only if a class run follows.
    let j = (s[i] == 0x20 && i + 1 < e && !isWhitespace(s[i + 1])) ? i + 1 : i
    switch scalarClass(s[j]) {
    case .letter: return run(s, from: j, e, while: isLetter)
    case .number: return run(s, from: j, e, while: isNumber)
    case .other: return run(s, from: j, e, while: isOther)
    case .whitespace: return whitespaceEnd(s, i, e)
    }
}

private func llama3Match(_ s: [UInt32], _ i: Int, _ e: Int, maxDigits: Int) -> Int {
    let n = contractionLength(s, i, e, caseInsensitive: true)
    if n > 0 { return i + n }
    let c = s[i]
    let cls = scalarClass(c)
    // `[^\r\n\p{L}\p{N}]?\p{L}+`
    if cls == .letter { return run(s, from: i, e, while: isLetter) }
    if cls != .number && !isLineBreak(c) && i + 1 < e && isLetter(s[i + 1]) {
        return run(s, from: i + 1, e, while: isLetter)
    }
    // `\p{N}{1,k}`
    if cls == .number {
        var j = i
        while j < e && j - i < maxDigits && isNumber(s[j]) { j += 1 }
        return j
    }
    // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
    let j = (c == 0x20 && i + 1 < e && isOther(s[i + 1])) ? i + 1 : i
    if isOther(s[j]) {
        let k = run(s, from: j, e, while: isOther)
        return run(s, from: k, e, while: isLineBreak)
    }
    // `\s*[\r\n]+`: within the whitespace run, up to and including its last line break.
    let k = run(s, from: i, e, while: isWhitespace)
    var p = k - 1
    while p >= i && !isLineBreak(s[p]) { p -= 1 }
    if p >= i { return p + 1 }
    return whitespaceEnd(s, i, e)
}
