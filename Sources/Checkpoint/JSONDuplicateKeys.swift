import Foundation

/// Finds a key that appears twice in one JSON object. Foundation's parsers keep one copy without
/// a word, and readers in other languages disagree on which (serde_json in safetensors keeps the
/// last, some keep the first), so a file that means different things to different tools is
/// refused instead (issue 10 item 6). The scan runs only on text a JSON parser has accepted, so
/// it needs no error handling of its own: it tracks objects and arrays, decodes each string
/// (escapes included, so `"a"` and `"\u0061"` are the same key) and treats a string followed by
/// `:` as a key of the innermost object.
enum JSONDuplicateKeys {
    struct Duplicate: Equatable {
        let key: String
        /// Keys of the enclosing objects joined by `.` ("" at the top level).
        let path: String
    }

    private struct Frame {
        let isObject: Bool
        let name: String
        var keys: Set<String> = []
    }

    static func first(in data: Data) -> Duplicate? {
        let bytes = [UInt8](data)
        var stack: [Frame] = []
        var lastKey: String?
        var i = 0
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                stack.append(Frame(isObject: bytes[i] == UInt8(ascii: "{"), name: lastKey ?? ""))
                lastKey = nil
                i += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                _ = stack.popLast()
                lastKey = nil
                i += 1
            case UInt8(ascii: ","):
                lastKey = nil
                i += 1
            case UInt8(ascii: "\""):
                let (text, end) = decodeString(bytes, from: i + 1)
                i = end
                var j = i
                while j < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[j]) { j += 1 }
                guard j < bytes.count, bytes[j] == UInt8(ascii: ":"), let top = stack.indices.last, stack[top].isObject else { break }
                guard stack[top].keys.insert(text).inserted else {
                    let path = stack.dropFirst().map(\.name).filter { !$0.isEmpty }.joined(separator: ".")
                    return Duplicate(key: text, path: path)
                }
                lastKey = text
            default:
                i += 1
            }
        }
        return nil
    }

    /// The string starting at `start` (just past the opening quote) and the index past its closing quote.
    private static func decodeString(_ b: [UInt8], from start: Int) -> (String, Int) {
        var out: [UInt8] = []
        var i = start
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= b.count, let v = UInt32(String(decoding: b[at..<(at + 4)], as: UTF8.self), radix: 16) else { return nil }
            return v
        }
        func append(_ scalar: Unicode.Scalar) { out.append(contentsOf: Array(String(scalar).utf8)) }
        while i < b.count, b[i] != UInt8(ascii: "\"") {
            guard b[i] == UInt8(ascii: "\\"), i + 1 < b.count else {
                out.append(b[i])
                i += 1
                continue
            }
            let escape = b[i + 1]
            i += 2
            switch escape {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                guard let unit = hex4(i) else { break }
                i += 4
                if (0xD800..<0xDC00).contains(unit), i + 1 < b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u"),
                   let low = hex4(i + 2), (0xDC00..<0xE000).contains(low) {
                    i += 6
                    append(Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))!)
                } else {
                    append(Unicode.Scalar(unit) ?? "\u{FFFD}")
                }
            default: out.append(escape)  // \" \\ \/
            }
        }
        return (String(decoding: out, as: UTF8.self), i + 1)
    }
}
