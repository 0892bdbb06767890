/// The character classes the GPT-2 and LLaMA-3 split patterns are written in. Definitions follow
/// the regex engines those patterns were made for (Python `regex`, Oniguruma in HF `tokenizers`):
/// `\p{L}` = general categories Lu Ll Lt Lm Lo, `\p{N}` = Nd Nl No, `\s` = the Unicode
/// `White_Space` property (Oniguruma's `\s` = U+0009–000D, U+0085, Zs, Zl, Zp — the same set).
enum ScalarClass: UInt8, Sendable {
    case letter, number, whitespace, other
}

/// ASCII classes precomputed, since almost all text is ASCII; other scalars ask the standard
/// library's Unicode tables.
private let asciiClasses: [ScalarClass] = (0..<128).map { classifyUnicode(UInt32($0)) }

@inline(__always)
func scalarClass(_ value: UInt32) -> ScalarClass {
    value < 128 ? asciiClasses[Int(value)] : classifyUnicode(value)
}

private func classifyUnicode(_ value: UInt32) -> ScalarClass {
    guard let scalar = Unicode.Scalar(value) else { return .other }
    let properties = scalar.properties
    if properties.isWhitespace { return .whitespace }
    switch properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
    case .decimalNumber, .letterNumber, .otherNumber: return .number
    default: return .other
    }
}

@inline(__always) func isLetter(_ v: UInt32) -> Bool { scalarClass(v) == .letter }
@inline(__always) func isNumber(_ v: UInt32) -> Bool { scalarClass(v) == .number }
@inline(__always) func isWhitespace(_ v: UInt32) -> Bool { scalarClass(v) == .whitespace }
/// `[^\s\p{L}\p{N}]`
@inline(__always) func isOther(_ v: UInt32) -> Bool { scalarClass(v) == .other }
@inline(__always) func isLineBreak(_ v: UInt32) -> Bool { v == 0x0A || v == 0x0D }
