import Foundation

/// The blocks a depth-pruned model keeps (issue 12 item 6) and what that does to names and to
/// config.json. Output block `j` is input block `kept[j]`; the kept blocks stay in order and are
/// renumbered contiguously, everything outside the blocks keeps its name.
public struct BlockRenumbering: Sendable, Equatable, Codable {
    /// Input block index of each output block, ascending.
    public let kept: [Int]
    public let originalCount: Int

    public init(removing removed: [Int], of count: Int) {
        let gone = Set(removed)
        kept = (0..<count).filter { !gone.contains($0) }
        originalCount = count
    }

    public var removed: [Int] { (0..<originalCount).filter { !kept.contains($0) } }

    static let prefix = "model.layers."

    /// The block index and the rest of a block tensor's name (`model.layers.<b>.<rest>`).
    static func split(_ name: String) -> (block: Int, rest: Substring)? {
        guard name.hasPrefix(prefix) else { return nil }
        let tail = name.dropFirst(prefix.count)
        let digits = tail.prefix { $0.isNumber }
        guard let block = Int(digits), tail.dropFirst(digits.count).first == "." else { return nil }
        return (block, tail.dropFirst(digits.count))
    }

    /// The input tensor an output tensor is copied from.
    public func inputName(of outputName: String) -> String {
        guard let (j, rest) = Self.split(outputName), j < kept.count else { return outputName }
        return Self.prefix + String(kept[j]) + rest
    }

    /// The output name of an input tensor; nil for the tensors of a removed block.
    public func outputName(of inputName: String) -> String? {
        guard let (b, rest) = Self.split(inputName) else { return inputName }
        guard let j = kept.firstIndex(of: b) else { return nil }
        return Self.prefix + String(j) + rest
    }

    /// config.json of the reduced model: `num_hidden_layers` set to the kept count, the per-layer
    /// list `layer_types` reduced to the kept blocks' entries, `max_window_layers` (Qwen2: blocks
    /// below it use full attention) set to the number of kept blocks below it, so every kept block
    /// keeps its attention kind. Edited in place as text, so every other byte of the file (key
    /// order, spacing, number spelling) stays the input's.
    public func editConfig(_ data: Data, file: String = "config.json") throws -> Data {
        guard var text = String(data: data, encoding: .utf8) else { throw CheckpointError.configInvalid(file: file, field: "(file)", reason: "not UTF-8") }
        text = try Self.replaceInteger(in: text, key: "num_hidden_layers", file: file) { old in
            guard old == originalCount else {
                throw CheckpointError.configInvalid(file: file, field: "num_hidden_layers", reason: "\(old), expected \(originalCount)")
            }
            return kept.count
        }
        if text.contains("\"max_window_layers\"") {
            text = try Self.replaceInteger(in: text, key: "max_window_layers", file: file) { old in kept.filter { $0 < old }.count }
        }
        if text.contains("\"layer_types\"") { text = try reduceLayerTypes(text, file: file) }
        return Data(text.utf8)
    }

    private static func replaceInteger(in text: String, key: String, file: String, _ change: (Int) throws -> Int) throws -> String {
        let pattern = try NSRegularExpression(pattern: "\"\(key)\"\\s*:\\s*(\\d+)")
        let ns = text as NSString
        let matches = pattern.matches(in: text, range: NSRange(location: 0, length: ns.length))
        guard matches.count == 1, let old = Int(ns.substring(with: matches[0].range(at: 1))) else {
            throw CheckpointError.configInvalid(file: file, field: key, reason: "expected one integer entry, found \(matches.count)")
        }
        return ns.replacingCharacters(in: matches[0].range(at: 1), with: String(try change(old)))
    }

    /// Keeps the kept blocks' string literals of the `layer_types` array, with the separator the
    /// file uses between its first two entries.
    private func reduceLayerTypes(_ text: String, file: String) throws -> String {
        let ns = text as NSString
        let array = try NSRegularExpression(pattern: "\"layer_types\"\\s*:\\s*\\[([^\\]]*)\\]")
        let found = array.matches(in: text, range: NSRange(location: 0, length: ns.length))
        guard found.count == 1 else { throw CheckpointError.configInvalid(file: file, field: "layer_types", reason: "expected one array of strings, found \(found.count)") }
        let body = found[0].range(at: 1)
        let inner = ns.substring(with: body) as NSString
        let literal = try NSRegularExpression(pattern: "\"(?:[^\"\\\\]|\\\\.)*\"")
        let items = literal.matches(in: inner as String, range: NSRange(location: 0, length: inner.length)).map(\.range)
        guard items.count == originalCount else {
            throw CheckpointError.configInvalid(file: file, field: "layer_types", reason: "\(items.count) entries for \(originalCount) layers")
        }
        let leading = inner.substring(to: items[0].location)
        let trailing = inner.substring(from: items[items.count - 1].location + items[items.count - 1].length)
        let separator = items.count > 1
            ? inner.substring(with: NSRange(location: items[0].location + items[0].length,
                                            length: items[1].location - items[0].location - items[0].length))
            : ", "
        let reduced = leading + kept.map { inner.substring(with: items[$0]) }.joined(separator: separator) + trailing
        return ns.replacingCharacters(in: body, with: reduced)
    }
}
