import Diagnostics

/// Bounds a YAML file before Yams composes it (issue 26 item 4). Yams builds its node tree
/// recursively, so `[[[[…` a hundred thousand deep overflows the stack (SIGSEGV, no line), and
/// a file of gigabytes is read whole. Recipes and sweep grids are a few dozen lines at a depth
/// of four, so the bounds below are far above any real file and far below what hurts.
///
/// Depth is bounded without parsing: block collections nest only by indentation or by compact
/// indicators on one line (`- - x`, `? - x`), and flow collections only by brackets. So a
/// line's nesting is at most its indentation plus its leading indicators plus the brackets open
/// at that point; bounding those three bounds the tree Yams will build.
package enum YAMLLimits {
    package static let maxBytes = 1 << 20
    package static let maxIndent = 64
    package static let maxFlowDepth = 32

    /// Why a file was not read or not accepted, without the file's name (callers add it).
    package struct Refusal: Error { let cause: String }

    /// The file's text, read only if it is a regular file within `maxBytes`, valid UTF-8 and
    /// within the nesting bounds; otherwise the cause.
    package static func text(of path: String) throws -> String {
        let bytes: [UInt8]
        switch InputFile.readAll(path, limit: maxBytes) {
        case let .success(b): bytes = b
        case let .failure(error): throw Refusal(cause: "cannot read it (\(error.cause))")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw Refusal(cause: "not UTF-8 text") }
        if let problem = violation(in: text) { throw Refusal(cause: problem) }
        return text
    }

    /// What is out of bounds (naming the line), or nil when the text is within every bound.
    package static func violation(in text: String) -> String? {
        let bytes = text.utf8.count
        if bytes > maxBytes {
            return "\(bytes) bytes, more than the \(maxBytes) a recipe or grid may have"
        }
        var flow = 0
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var prefix = 0, inPrefix = true
            var quote: Character? = nil
            var previous: Character = " "
            var iterator = line.makeIterator()
            while let c = iterator.next() {
                if let q = quote {
                    if c == q { quote = nil } else if q == "\"" && c == "\\" { _ = iterator.next() }
                    previous = c
                    continue
                }
                if inPrefix {
                    if c == " " || ((c == "-" || c == "?" || c == ":") && flow == 0) { prefix += 1; previous = c; continue }
                    inPrefix = false
                }
                switch c {
                case "#" where previous == " " || previous == "\t": break
                case "\"", "'": quote = c
                case "[", "{":
                    flow += 1
                    if flow > maxFlowDepth { return "line \(number + 1): brackets nested more than \(maxFlowDepth) deep" }
                case "]", "}": flow = max(0, flow - 1)
                default: break
                }
                if c == "#" && (previous == " " || previous == "\t") { break }
                previous = c
            }
            // A quote left open at the end of a line continues on the next only inside flow
            // collections or multi-line scalars; either way it cannot nest collections.
            if flow == 0 { quote = nil }
            if prefix > maxIndent { return "line \(number + 1): indented more than \(maxIndent) columns" }
        }
        return nil
    }
}
