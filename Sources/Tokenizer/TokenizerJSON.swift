import Foundation

/// Reads the pipeline stages of a HF `tokenizer.json` into this module's types. Anything this
/// module would tokenize differently from HF `tokenizers` is refused with an error naming the
/// field, rather than approximated.
extension JSONFields {
    func normalizer() throws -> Normalizer {
        switch try type() {
        case "Prepend":
            return .prepend(try required("prepend", String.self).unicodeScalars.map(\.value))
        case "Replace":
            return .replace(pattern: try stringPattern().unicodeScalars.map(\.value),
                            content: try required("content", String.self).unicodeScalars.map(\.value))
        case "Sequence":
            return .sequence(try objects("normalizers").map { try $0.normalizer() })
        case let other:
            throw unsupported(other)
        }
    }

    func preTokenizer() throws -> PreTokenizer {
        switch try type() {
        case "ByteLevel":
            return .byteLevel(addPrefixSpace: try optional("add_prefix_space", Bool.self) ?? true,
                              useRegex: try optional("use_regex", Bool.self) ?? true)
        case "Digits":
            return .digits(individual: try optional("individual_digits", Bool.self) ?? false)
        case "Split":
            guard let pattern = try object("pattern") else { throw TokenizerError.missingField(file: file, field: fieldPath("pattern")) }
            guard let regex = try pattern.optional("Regex", String.self) else { throw unsupported("Split without a Regex pattern") }
            guard let split = SplitPattern(regex: regex) else { throw invalid("pattern", "regex \(regex) is not one this module scans") }
            guard try required("behavior", String.self) == "Isolated", try optional("invert", Bool.self) != true else {
                throw invalid("behavior", "only Isolated, not inverted, is supported")
            }
            return .split(split)
        case "Metaspace":
            return .metaspace(replacement: try replacement(), prependScheme: try prependScheme(),
                              split: try optional("split", Bool.self) ?? true)
        case "Sequence":
            return .sequence(try objects("pretokenizers").map { try $0.preTokenizer() })
        case let other:
            throw unsupported(other)
        }
    }

    func decoder() throws -> Decoder {
        switch try type() {
        case "ByteLevel": return .byteLevel
        case "ByteFallback": return .byteFallback
        case "Fuse": return .fuse
        case "Replace":
            return .replace(pattern: try stringPattern(), content: try required("content", String.self))
        case "Strip":
            let content = try required("content", String.self).unicodeScalars
            guard content.count == 1 else { throw invalid("content", "expected one character") }
            return .strip(content: content.first!, start: try required("start", Int.self), stop: try required("stop", Int.self))
        case "Metaspace":
            return .metaspace(replacement: Unicode.Scalar(try replacement())!, prependScheme: try prependScheme())
        case "Sequence":
            return .sequence(try objects("decoders").map { try $0.decoder() })
        case let other:
            throw unsupported(other)
        }
    }

    /// The first special token of a post-processor's single-sequence template, if the template
    /// starts with one (`TemplateProcessing`, possibly inside a `Sequence`), as (name, id).
    func leadingTemplateToken() throws -> (name: String, id: UInt32)? {
        switch try type() {
        case "TemplateProcessing":
            let single = try required("single", [Any].self)
            guard let first = single.first as? [String: Any],
                  let special = first["SpecialToken"] as? [String: Any],
                  let name = special["id"] as? String else { return nil }
            guard let entry = try object("special_tokens")?.object(name),
                  let id = try entry.required("ids", [Int].self).first else {
                throw invalid("special_tokens", "no ids for '\(name)'")
            }
            guard id >= 0 && id <= Tokenizer.maxTokenID else { throw invalid("special_tokens", "id \(id) of '\(name)' out of range") }
            return (name, UInt32(id))
        case "Sequence":
            for processor in try objects("processors") {
                if let token = try processor.leadingTemplateToken() { return token }
            }
            return nil
        case "ByteLevel":
            return nil
        case let other:
            throw unsupported(other)
        }
    }

    private func stringPattern() throws -> String {
        guard let pattern = try object("pattern"), let s = try pattern.optional("String", String.self) else {
            throw invalid("pattern", "only {\"String\": …} patterns are supported")
        }
        return s
    }

    private func replacement() throws -> UInt32 {
        let r = try required("replacement", String.self).unicodeScalars
        guard r.count == 1 else { throw invalid("replacement", "expected one character") }
        return r.first!.value
    }

    /// `prepend_scheme` (tokenizers ≥ 0.15) or the older `add_prefix_space` (true = always).
    private func prependScheme() throws -> PrependScheme {
        if let scheme = try optional("prepend_scheme", String.self) {
            guard let value = PrependScheme(rawValue: scheme) else { throw invalid("prepend_scheme", "unknown '\(scheme)'") }
            return value
        }
        return try optional("add_prefix_space", Bool.self) == false ? .never : .always
    }

    /// `model.merges` in either shape HF writes: `"a b"` (split at the one space) or `["a", "b"]`.
    func merges() throws -> [(String, String)] {
        let list = try optional("merges", [Any].self) ?? []
        return try list.enumerated().map { index, item in
            if let pair = item as? [String], pair.count == 2 { return (pair[0], pair[1]) }
            if let line = item as? String {
                let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw TokenizerError.badMerge(file: file, index: index, merge: line, reason: "expected two tokens separated by one space")
                }
                return (String(parts[0]), String(parts[1]))
            }
            throw TokenizerError.badMerge(file: file, index: index, merge: "\(item)", reason: "expected \"a b\" or [\"a\", \"b\"]")
        }
    }
}
