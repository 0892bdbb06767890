/// Makes text safe to print as one terminal line. Names and strings read from files (tensor names,
/// metadata keys, tokens, paths) reach error messages, and a crafted name holding a newline or an
/// escape sequence could otherwise forge an `owlprune:` line or rewrite the terminal (issue 10
/// item 5). Every error description that embeds such text passes through here, once, at the end.
///
/// Control characters (C0, DEL, C1), line and paragraph separators and the bidirectional
/// overrides become visible escapes (`\n`, `\t`, `\r`, `\u{1B}`); everything else is unchanged,
/// so ordinary messages read exactly as written.
public func printableLine(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: needsEscape) else { return text }
    var out = String.UnicodeScalarView()
    for scalar in text.unicodeScalars {
        guard needsEscape(scalar) else {
            out.append(scalar)
            continue
        }
        let escaped = switch scalar {
        case "\n": "\\n"
        case "\r": "\\r"
        case "\t": "\\t"
        default: "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
        }
        out.append(contentsOf: escaped.unicodeScalars)
    }
    return String(out)
}

/// Whether `scalar` must not reach a terminal raw.
public func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x00...0x1F, 0x7F...0x9F: true            // C0, DEL, C1 (CSI is 0x9B)
    case 0x2028, 0x2029: true                      // line / paragraph separator
    case 0x202A...0x202E, 0x2066...0x2069: true    // bidi embeddings, overrides, isolates
    case 0xFEFF: true                              // zero-width no-break space (BOM)
    default: false
    }
}

/// True when `text` is non-empty and prints as one line as it is.
public func isPrintableLine(_ text: String) -> Bool {
    !text.isEmpty && !text.unicodeScalars.contains(where: needsEscape)
}

/// `printableLine`, cut to at most `limit` characters (plus a note of how much was left out):
/// a name or value read from a file can be megabytes long, and one of those must not turn a
/// listing row or an error into a screenful (issue 26 item 5).
public func printableValue(_ text: String, limit: Int = 200) -> String {
    let line = printableLine(text)
    guard line.count > limit else { return line }
    return String(line.prefix(limit)) + "…(\(line.count - limit) more characters)"
}

/// An error message as printed: escaped, and cut at a length no real message reaches.
public func printableMessage(_ text: String) -> String { printableValue(text, limit: 2000) }
