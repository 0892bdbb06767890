/// GPT-2's reversible byte ↔ character table (openai/gpt-2 `src/encoder.py` `bytes_to_unicode`;
/// HF `tokenizers` `pre_tokenizers/byte_level.rs`): printable Latin-1 bytes stand for themselves,
/// the other 68 bytes become U+0100… in byte order, so every byte string is a printable string
/// (space → `Ġ`, `\n` → `Ċ`, `\r` → `č`).
enum ByteLevelTable {
    static let characterOfByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            if printable {
                table[byte] = UInt32(byte)
            } else {
                table[byte] = next
                next += 1
            }
        }
        return table
    }()

    static let byteOfCharacter: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (byte, character) in characterOfByte.enumerated() { map[character] = UInt8(byte) }
        return map
    }()

    /// The byte-level spelling of a string (as the vocabulary of a byte-level BPE stores it).
    static func encode(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for byte in text.utf8 { out.append(Unicode.Scalar(characterOfByte[Int(byte)])!) }
        return String(out)
    }

    /// The bytes a byte-level token spells, or nil if it holds a character outside the table
    /// (HF's ByteLevel decoder then keeps the token's own UTF-8).
    static func bytes(of token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.unicodeScalars.count)
        for scalar in token.unicodeScalars {
            guard let byte = byteOfCharacter[scalar.value] else { return nil }
            out.append(byte)
        }
        return out
    }
}

/// Appends the UTF-8 encoding of scalar value `v`.
@inline(__always)
func appendUTF8(_ v: UInt32, to out: inout [UInt8]) {
    switch v {
    case ..<0x80:
        out.append(UInt8(v))
    case ..<0x800:
        out.append(UInt8(0xC0 | v >> 6)); out.append(UInt8(0x80 | v & 0x3F))
    case ..<0x10000:
        out.append(UInt8(0xE0 | v >> 12)); out.append(UInt8(0x80 | v >> 6 & 0x3F)); out.append(UInt8(0x80 | v & 0x3F))
    default:
        out.append(UInt8(0xF0 | v >> 18)); out.append(UInt8(0x80 | v >> 12 & 0x3F))
        out.append(UInt8(0x80 | v >> 6 & 0x3F)); out.append(UInt8(0x80 | v & 0x3F))
    }
}
