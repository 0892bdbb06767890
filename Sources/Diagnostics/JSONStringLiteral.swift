/// A JSON string literal (RFC 8259 §7): `"` and `\` escaped, `\n`, `\r`, `\t` in their short
/// forms, other control characters as `\u00xx` (lower-case hex); everything else, non-ASCII
/// included, written as it is (UTF-8). The one escaper of the hand-written JSON (safetensors
/// headers, tokenizer.json, YAML double-quoted scalars, which take the same syntax): each byte of
/// those files is decided here, so they stay identical across writers and releases.
public func jsonStringLiteral(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
