/// The decoders of HF `tokenizer.json` (HF `tokenizers` `src/decoders/`), each a step on the list
/// of token strings (`decode_chain`); the final strings are concatenated.
indirect enum Decoder: Sendable, Equatable {
    /// Tokens → bytes through `ByteLevelTable`, then lossy UTF-8; a token holding a character
    /// outside the table contributes its own UTF-8 (HF `decoders/byte_level.rs`).
    case byteLevel
    case replace(pattern: String, content: String)
    /// Runs of `<0xNN>` tokens become their bytes as UTF-8, or one U+FFFD per byte if invalid.
    case byteFallback
    /// Joins all tokens into one.
    case fuse
    /// Removes up to `start` leading and `stop` trailing `content` characters of each token.
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    /// `▁` → space; in the first token it is dropped unless the scheme is `never`
    /// (HF `decoders/metaspace.rs`).
    case metaspace(replacement: Unicode.Scalar, prependScheme: PrependScheme)
    case sequence([Decoder])

    func decodeChain(_ tokens: [String]) -> [String] {
        switch self {
        case .byteLevel:
            var bytes: [UInt8] = []
            for token in tokens {
                if let b = ByteLevelTable.bytes(of: token) { bytes += b } else { bytes += Array(token.utf8) }
            }
            return [String(decoding: bytes, as: UTF8.self)]
        case let .replace(pattern, content):
            return tokens.map { $0.replacingAll(pattern, with: content) }
        case .byteFallback:
            return decodeByteFallback(tokens)
        case .fuse:
            return [tokens.joined()]
        case let .strip(content, start, stop):
            return tokens.map { token in
                var chars = Substring(token).unicodeScalars
                var n = 0
                while n < start, chars.first == content { chars.removeFirst(); n += 1 }
                n = 0
                while n < stop, chars.last == content { chars.removeLast(); n += 1 }
                return String(chars)
            }
        case let .metaspace(replacement, scheme):
            return tokens.enumerated().map { index, token in
                var out = String.UnicodeScalarView()
                for c in token.unicodeScalars {
                    if c == replacement {
                        if !(index == 0 && scheme != .never) { out.append(" ") }
                    } else {
                        out.append(c)
                    }
                }
                return String(out)
            }
        case let .sequence(stages):
            return stages.reduce(tokens) { $1.decodeChain($0) }
        }
    }
}

private func decodeByteFallback(_ tokens: [String]) -> [String] {
    var out: [String] = []
    var pending: [UInt8] = []
    func flush() {
        guard !pending.isEmpty else { return }
        if firstInvalidUTF8Offset(pending[...]) == nil {
            out.append(String(decoding: pending, as: UTF8.self))
        } else {
            out += Array(repeating: "\u{FFFD}", count: pending.count)
        }
        pending.removeAll()
    }
    for token in tokens {
        if let byte = fallbackByte(token) {
            pending.append(byte)
        } else {
            flush()
            out.append(token)
        }
    }
    flush()
    return out
}

/// The byte of a `<0xNN>` token (exactly six characters, two hex digits), else nil.
func fallbackByte(_ token: String) -> UInt8? {
    let u = Array(token.utf8)
    guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E else { return nil }
    return UInt8(String(decoding: u[3...4], as: UTF8.self), radix: 16)
}

extension String {
    /// Literal, scalar-by-scalar replacement (no canonical equivalence, unlike Foundation's).
    func replacingAll(_ pattern: String, with content: String) -> String {
        let s = unicodeScalars.map(\.value)
        let replaced = Normalizer.replace(pattern: pattern.unicodeScalars.map(\.value),
                                          content: content.unicodeScalars.map(\.value)).apply(s)
        return String(scalarValues: replaced)
    }

    init(scalarValues: some Sequence<UInt32>) {
        var view = String.UnicodeScalarView()
        for v in scalarValues { if let s = Unicode.Scalar(v) { view.append(s) } }
        self = String(view)
    }
}
