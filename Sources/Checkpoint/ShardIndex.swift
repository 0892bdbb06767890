import Diagnostics
import Foundation

/// `model.safetensors.index.json`: which shard holds each tensor. The shape is the one
/// transformers writes (`modeling_utils.py`, `save_pretrained`): `{"metadata": {"total_size":
/// N}, "weight_map": {tensor: file}}`. As in mlx-swift-lm `Load.swift`, the index decides which
/// files a reader opens.
public struct ShardIndex: Sendable, Equatable {
    public static let fileName = "model.safetensors.index.json"

    /// Sum of the tensors' data bytes over all shards (headers excluded), as transformers counts it.
    public var totalSize: Int
    public var weightMap: [String: String]

    public init(totalSize: Int, weightMap: [String: String]) {
        self.totalSize = totalSize
        self.weightMap = weightMap
    }

    /// The shard files the index names, sorted.
    public var shardFileNames: [String] { Set(weightMap.values).sorted() }

    /// transformers' shard naming: `model-00001-of-00004.safetensors` (`index` is 1-based).
    public static func shardFileName(index: Int, count: Int) -> String {
        func five(_ n: Int) -> String { String(repeating: "0", count: max(0, 5 - String(n).count)) + String(n) }
        return "model-\(five(index))-of-\(five(count)).safetensors"
    }

    public init(contentsOf url: URL) throws {
        let file = url.lastPathComponent
        let data: Data
        do { data = Data(try InputFile.bytes(url.path)) } catch {
            throw CheckpointError.fileSystem(error, path: url.path, writing: false)
        }
        let raw: IndexJSON
        do { raw = try JSONDecoder().decode(IndexJSON.self, from: data) } catch {
            throw CheckpointError.badIndex(file: file, reason: "not a valid index: \(SafetensorsHeader.describe(error))")
        }
        guard let size = raw.metadata?.totalSize else {
            throw CheckpointError.badIndex(file: file, reason: "missing metadata.total_size")
        }
        guard size >= 0, size == size.rounded(), size < 0x1p62 else {
            throw CheckpointError.badIndex(file: file, reason: "metadata.total_size \(size) is not a byte count")
        }
        self.init(totalSize: Int(size), weightMap: raw.weightMap)
    }

    /// Writes the index as transformers does (2-space indent, sorted keys), atomically.
    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let raw = IndexJSON(metadata: .init(totalSize: Double(totalSize)), weightMap: weightMap)
        do {
            try AtomicFile.write(encoder.encode(raw), to: url)
        } catch {
            throw CheckpointError.badIndex(file: url.lastPathComponent, reason: "cannot write: \(fileErrorCause(error))")
        }
    }
}

private struct IndexJSON: Codable {
    struct Metadata: Codable {
        /// Decoded as Double so `1234` and `1234.0` both work (docs/style.md "config.json").
        var totalSize: Double?
        enum CodingKeys: String, CodingKey { case totalSize = "total_size" }

        init(totalSize: Double?) { self.totalSize = totalSize }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(Int(totalSize ?? 0), forKey: .totalSize)
        }
    }

    var metadata: Metadata?
    var weightMap: [String: String]
    enum CodingKeys: String, CodingKey { case metadata, weightMap = "weight_map" }
}
