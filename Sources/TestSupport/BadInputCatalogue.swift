import Foundation

/// One bad input and the exact line owlprune must print for it (after `owlprune: rank 0: `).
/// `build` writes the input under a fresh scratch directory and returns the command line;
/// `{dir}` in `expected` stands for that directory's path.
public struct BadInput: Sendable, CustomStringConvertible {
    public let name: String
    public let expected: String
    public let build: @Sendable (_ dir: URL) throws -> [String]

    public init(_ name: String, _ expected: String, _ build: @escaping @Sendable (_ dir: URL) throws -> [String]) {
        self.name = name
        self.expected = expected
        self.build = build
    }

    public var description: String { name }
}

/// Builders shared by the catalogue's cases: the tiny checkpoint with one file replaced, a
/// hand-made safetensors file, a tiny GGUF with one thing broken.
public enum BadInputFixtures {
    public static let calibrationText = String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 40)

    /// `dir/tiny` (two blocks) and `dir/text.txt`.
    public static func tiny(in dir: URL, blocks: Int = 2) throws -> (model: URL, text: URL) {
        let model = dir.appendingPathComponent(blocks == 2 ? "tiny" : "tiny\(blocks)")
        try TinyCheckpoint.write(to: model, blocks: blocks)
        let text = dir.appendingPathComponent("text.txt")
        try calibrationText.write(to: text, atomically: true, encoding: .utf8)
        return (model, text)
    }

    public static func eval(_ model: URL, _ text: URL, seqlen: Int = 16) -> [String] {
        ["eval", "--model", model.path, "--data", text.path, "--seqlen", String(seqlen), "--max-windows", "2"]
    }

    public static func prune(_ model: URL, _ text: URL, out: URL, _ extra: [String] = []) -> [String] {
        ["prune", "--model", model.path, "--out", out.path, "--calib", text.path, "--nsamples", "2", "--seqlen", "16",
         "--sparsity", "0.5"] + extra
    }

    /// The tiny checkpoint with `model.safetensors` replaced by `header` + `dataBytes` zero bytes;
    /// returns the eval command line.
    public static func safetensors(_ dir: URL, header: String, dataBytes: Int) throws -> [String] {
        let (model, text) = try tiny(in: dir)
        var bytes = Data()
        let json = Data(header.utf8)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(json)
        bytes.append(Data(count: dataBytes))
        try bytes.write(to: model.appendingPathComponent("model.safetensors"))
        return eval(model, text)
    }

    /// Raw bytes as the tiny checkpoint's `model.safetensors`.
    public static func rawSafetensors(_ dir: URL, _ bytes: Data) throws -> [String] {
        let (model, text) = try tiny(in: dir)
        try bytes.write(to: model.appendingPathComponent("model.safetensors"))
        return eval(model, text)
    }

    /// The tiny checkpoint with its config.json edited as a JSON object.
    public static func config(_ dir: URL, _ edit: (inout [String: Any]) -> Void) throws -> [String] {
        let (model, text) = try tiny(in: dir)
        let file = model.appendingPathComponent("config.json")
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as! [String: Any]
        edit(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: file)
        return eval(model, text)
    }

    /// The tiny checkpoint with `tokenizer.json` replaced by `text`; a prune run reads it.
    public static func tokenizer(_ dir: URL, _ json: String) throws -> [String] {
        let (model, text) = try tiny(in: dir)
        try json.write(to: model.appendingPathComponent("tokenizer.json"), atomically: true, encoding: .utf8)
        return prune(model, text, out: dir.appendingPathComponent("out"))
    }

    /// The tiny checkpoint with one element of one tensor replaced (float32 storage).
    public static func weight(_ dir: URL, tensor: String, element: Int, value: Float) throws -> [String] {
        let (model, text) = try tiny(in: dir)
        let file = model.appendingPathComponent("model.safetensors")
        var bytes = try Data(contentsOf: file)
        let headerLength = Int(bytes.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
        let header = try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + headerLength))) as! [String: Any]
        let begin = ((header[tensor] as! [String: Any])["data_offsets"] as! [Int])[0]
        let at = 8 + headerLength + begin + 4 * element
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.replaceSubrange(at..<(at + 4), with: $0) }
        try bytes.write(to: file)
        return eval(model, text)
    }

    /// `convert` of the tiny GGUF after `edit`.
    public static func gguf(_ dir: URL, _ edit: (inout TinyLlamaGGUF) -> Void) throws -> [String] {
        var g = TinyLlamaGGUF()
        edit(&g)
        let file = try g.write(to: dir.appendingPathComponent("tiny.gguf"))
        return ["convert", file.path, "--out", dir.appendingPathComponent("converted").path]
    }

    /// `convert` of raw GGUF bytes.
    public static func rawGGUF(_ dir: URL, _ bytes: Data) throws -> [String] {
        let file = dir.appendingPathComponent("tiny.gguf")
        try bytes.write(to: file)
        return ["convert", file.path, "--out", dir.appendingPathComponent("converted").path]
    }
}
