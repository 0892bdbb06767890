/// Text being pre-tokenized: one scalar buffer and the pieces cut from it so far. Stages that only
/// split (Digits, the regexes) refine `pieces`; stages that insert text (Metaspace's prefix,
/// ByteLevel's `add_prefix_space`) rebuild the buffer.
struct PreTokenizedText {
    var scalars: [UInt32]
    var pieces: [Range<Int>]
    /// Whether the first piece starts at offset 0 of the original text (Metaspace `first`).
    var startsText: Bool
}

/// When Metaspace adds its replacement character in front of a piece
/// (HF `tokenizers` `pre_tokenizers/metaspace.rs`, `PrependScheme`).
enum PrependScheme: String, Sendable { case always, never, first }

/// The pre-tokenizers of HF `tokenizer.json` that LLaMA-family models use
/// (HF `tokenizers` `src/pre_tokenizers/`; swift-transformers `PreTokenizer.swift`).
indirect enum PreTokenizer: Sendable, Equatable {
    /// Byte-level BPE: optional prefix space, then optionally the GPT-2 split. The byte→character
    /// mapping HF does here happens in `BPEModel`, on the UTF-8 bytes of each piece.
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    /// `individual_digits`: every `\p{N}` scalar alone (Rust `char::is_numeric`); otherwise runs.
    case digits(individual: Bool)
    /// `Split` with behaviour `Isolated`, not inverted.
    case split(SplitPattern)
    case metaspace(replacement: UInt32, prependScheme: PrependScheme, split: Bool)
    case sequence([PreTokenizer])

    /// True if a ByteLevel stage is present, which makes the BPE model work on bytes.
    var isByteLevel: Bool {
        switch self {
        case .byteLevel: true
        case let .sequence(stages): stages.contains { $0.isByteLevel }
        default: false
        }
    }

    func apply(_ text: inout PreTokenizedText) {
        switch self {
        case let .sequence(stages):
            for stage in stages { stage.apply(&text) }
        case let .digits(individual):
            refine(&text) { s, range, out in splitDigits(s, range, individual: individual, into: &out) }
        case let .split(pattern):
            refine(&text) { s, range, out in pattern.split(s, range, into: &out) }
        case let .byteLevel(addPrefixSpace, useRegex):
            if addPrefixSpace {
                // HF: prepend " " to each piece that does not already start with a space.
                rebuild(&text) { _, piece in piece.first == 0x20 ? nil : [0x20] }
            }
            if useRegex {
                refine(&text) { s, range, out in SplitPattern.gpt2.split(s, range, into: &out) }
            }
        case let .metaspace(replacement, scheme, split):
            for k in text.scalars.indices where text.scalars[k] == 0x20 { text.scalars[k] = replacement }
            let startsText = text.startsText
            rebuild(&text) { index, piece in
                guard piece.first != replacement else { return nil }
                switch scheme {
                case .always: return [replacement]
                case .first: return index == 0 && startsText ? [replacement] : nil
                case .never: return nil
                }
            }
            if split {
                // `MergedWithNext`: every replacement character starts a new piece.
                refine(&text) { s, range, out in
                    var start = range.lowerBound
                    for k in range where k > start && s[k] == replacement {
                        out.append(start..<k)
                        start = k
                    }
                    if start < range.upperBound { out.append(start..<range.upperBound) }
                }
            }
        }
    }
}

/// Replaces every piece by the pieces `cut` makes of it; empty pieces are dropped.
private func refine(_ text: inout PreTokenizedText,
                    _ cut: ([UInt32], Range<Int>, inout [Range<Int>]) -> Void) {
    var out: [Range<Int>] = []
    out.reserveCapacity(text.pieces.count)
    for range in text.pieces where !range.isEmpty { cut(text.scalars, range, &out) }
    text.pieces = out.filter { !$0.isEmpty }
}

/// Copies the buffer, putting `prefix(index, piece)` (if any) in front of each piece.
private func rebuild(_ text: inout PreTokenizedText, prefix: (Int, ArraySlice<UInt32>) -> [UInt32]?) {
    var scalars: [UInt32] = []
    var pieces: [Range<Int>] = []
    scalars.reserveCapacity(text.scalars.count + text.pieces.count)
    for (index, range) in text.pieces.enumerated() {
        let start = scalars.count
        if let extra = prefix(index, text.scalars[range]) { scalars += extra }
        scalars += text.scalars[range]
        pieces.append(start..<scalars.count)
    }
    text.scalars = scalars
    text.pieces = pieces
}

private func splitDigits(_ s: [UInt32], _ range: Range<Int>, individual: Bool, into out: inout [Range<Int>]) {
    var start = range.lowerBound
    var k = range.lowerBound
    while k < range.upperBound {
        guard isNumber(s[k]) else { k += 1; continue }
        if start < k { out.append(start..<k) }
        var end = k + 1
        if !individual { while end < range.upperBound && isNumber(s[end]) { end += 1 } }
        out.append(k..<end)
        k = end
        start = end
    }
    if start < range.upperBound { out.append(start..<range.upperBound) }
}
