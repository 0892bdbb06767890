import Foundation
import Tensor

/// A seeded mutator for the parser fuzz tests (issue 10 item 7): bit flips, truncation, length
/// edits (bytes inserted or deleted) and structured edits — for JSON, numbers swapped for extreme
/// values, strings for hostile ones and keys duplicated; for binary formats, 32- and 64-bit fields
/// overwritten with boundary values. SplitMix64 makes every mutant reproducible from its index, so
/// a failure message names the seed that rebuilds it.
public struct Mutator {
    private var generator: SplitMix64

    public init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    public mutating func next() -> UInt64 { generator.next() }

    public mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }

    static let extremeNumbers = ["-1", "0", "1", "-0", "4294967296", "9223372036854775807", "-9223372036854775808",
                                 "18446744073709551616", "1e400", "-1e400", "0.5", "1e-400", "2147483648", "65536"]
    static let hostileStrings = [#""""#, #""\n\u001b[2J""#, #""\u0000""#, #""owlprune: rank 0: forged""#, #""\ud800""#,
                                 #""é\u202e""#, #""F32""#, #""BF16""#, #""__metadata__""#, #""model.layers.0.mlp.up_proj.weight""#]
    static let boundaryWords: [UInt64] = [0, 1, 2, 3, 7, 8, 31, 32, 255, 256, 0xFFFF, 1 << 31, 0xFFFF_FFFF, 1 << 32,
                                         1 << 62, UInt64(Int64.max), .max, .max - 1]

    /// One mutant of `seed`; `json` selects structured JSON edits, otherwise binary field edits.
    public mutating func mutate(_ seed: Data, json: Bool) -> Data {
        var bytes = [UInt8](seed)
        let rounds = 1 + below(3)
        for _ in 0..<rounds {
            switch below(json ? 6 : 5) {
            case 0:  // bit flips
                for _ in 0..<(1 + below(8)) where !bytes.isEmpty { bytes[below(bytes.count)] ^= 1 << UInt8(below(8)) }
            case 1:  // truncation
                bytes = Array(bytes.prefix(below(bytes.count + 1)))
            case 2:  // delete a range
                guard !bytes.isEmpty else { break }
                let start = below(bytes.count)
                bytes.removeSubrange(start..<min(bytes.count, start + 1 + below(16)))
            case 3:  // insert random bytes
                let at = below(bytes.count + 1)
                bytes.insert(contentsOf: (0..<(1 + below(16))).map { _ in UInt8(truncatingIfNeeded: next()) }, at: at)
            default:
                if json { bytes = structuredJSONEdit(bytes) } else { bytes = fieldEdit(bytes) }
            }
        }
        return Data(bytes)
    }

    /// Overwrites an aligned 32- or 64-bit little-endian field with a boundary value, or nudges
    /// one by ±1 (length and count fields are where readers go wrong).
    mutating func fieldEdit(_ bytes: [UInt8]) -> [UInt8] {
        var b = bytes
        let width = below(2) == 0 ? 4 : 8
        guard b.count >= width else { return b }
        // Headers sit at the front: bias towards the first 512 bytes.
        let limit = below(4) == 0 ? b.count - width : min(b.count - width, 512)
        let at = below(limit / 4 + 1) * 4
        guard at + width <= b.count else { return b }
        var value = Self.boundaryWords[below(Self.boundaryWords.count)]
        if below(3) == 0 {
            var old: UInt64 = 0
            for k in 0..<width { old |= UInt64(b[at + k]) << (8 * UInt64(k)) }
            value = below(2) == 0 ? old &+ 1 : old &- 1
        }
        for k in 0..<width { b[at + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(k))) }
        return b
    }

    /// Replaces a number or a string token, or duplicates a key into its object.
    mutating func structuredJSONEdit(_ bytes: [UInt8]) -> [UInt8] {
        let text = String(decoding: bytes, as: UTF8.self)
        var scalars = Array(text.unicodeScalars)
        switch below(3) {
        case 0:
            let numbers = tokenRanges(scalars) { $0 == "-" || ("0"..."9").contains($0) }
            guard let r = numbers.randomElement(using: &self) else { return bytes }
            scalars.replaceSubrange(r, with: Self.extremeNumbers[below(Self.extremeNumbers.count)].unicodeScalars)
        case 1:
            let strings = stringRanges(scalars)
            guard let r = strings.randomElement(using: &self) else { return bytes }
            scalars.replaceSubrange(r, with: Self.hostileStrings[below(Self.hostileStrings.count)].unicodeScalars)
        default:
            // `{"k": …` gains a second `"k": 0,` right after its brace (a duplicate key).
            let keys = stringRanges(scalars).filter { r in
                var j = r.upperBound
                while j < scalars.count, scalars[j] == " " { j += 1 }
                return j < scalars.count && scalars[j] == ":"
            }
            guard let key = keys.randomElement(using: &self),
                  let brace = scalars[..<key.lowerBound].lastIndex(of: "{") else { return bytes }
            scalars.insert(contentsOf: (String(String.UnicodeScalarView(scalars[key])) + ": 0,").unicodeScalars, at: brace + 1)
        }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars)
        return Array(String(out).utf8)
    }

    private func tokenRanges(_ s: [Unicode.Scalar], _ starts: (Unicode.Scalar) -> Bool) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var i = 0
        var inString = false
        while i < s.count {
            if s[i] == "\"" && (i == 0 || s[i - 1] != "\\") { inString.toggle(); i += 1; continue }
            if !inString && starts(s[i]) {
                var j = i + 1
                while j < s.count, "0123456789.eE+-".unicodeScalars.contains(s[j]) { j += 1 }
                out.append(i..<j)
                i = j
            } else {
                i += 1
            }
        }
        return out
    }

    private func stringRanges(_ s: [Unicode.Scalar]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var i = 0
        while i < s.count {
            guard s[i] == "\"" else { i += 1; continue }
            var j = i + 1
            while j < s.count, s[j] != "\"" { j += s[j] == "\\" ? 2 : 1 }
            if j < s.count { out.append(i..<(j + 1)) }
            i = j + 1
        }
        return out
    }
}

extension Mutator: RandomNumberGenerator {}
