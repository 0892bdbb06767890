import Diagnostics

/// A JSON value with ordered object keys, for writing `tokenizer.json`. `JSONSerialization`
/// takes seconds on Linux for a 50k-entry vocabulary with sorted keys, and cannot keep the
/// vocabulary in id order, which is how HF writes it and what a reader expects to see.
indirect enum JSONValue {
    case null
    case bool(Bool)
    case int(Int)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    /// Compact when `indent` is nil; otherwise one member per line.
    func serialized(indent: Int? = nil) -> String {
        var out = ""
        write(to: &out, indent: indent, depth: 0)
        return out
    }

    private func write(to out: inout String, indent: Int?, depth: Int) {
        func newline(_ depth: Int) {
            guard let indent else { return }
            out += "\n" + String(repeating: " ", count: indent * depth)
        }
        switch self {
        case .null: out += "null"
        case let .bool(b): out += b ? "true" : "false"
        case let .int(i): out += String(i)
        case let .string(s): writeString(s, to: &out)
        case let .array(items):
            guard !items.isEmpty else { out += "[]"; return }
            out += "["
            for (k, item) in items.enumerated() {
                if k > 0 { out += "," }
                newline(depth + 1)
                item.write(to: &out, indent: indent, depth: depth + 1)
            }
            newline(depth)
            out += "]"
        case let .object(members):
            guard !members.isEmpty else { out += "{}"; return }
            out += "{"
            for (k, (key, value)) in members.enumerated() {
                if k > 0 { out += "," }
                newline(depth + 1)
                writeString(key, to: &out)
                out += indent == nil ? ":" : ": "
                value.write(to: &out, indent: indent, depth: depth + 1)
            }
            newline(depth)
            out += "}"
        }
    }
}

/// RFC 8259 string (`jsonStringLiteral`, the one escaper).
private func writeString(_ s: String, to out: inout String) {
    out += jsonStringLiteral(s)
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral {
    init(stringLiteral value: String) { self = .string(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(integerLiteral value: Int) { self = .int(value) }

    static func optional(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
}
