import Foundation
import Tensor

/// A Hugging Face checkpoint directory: `config.json` plus either one `model.safetensors` or
/// shards listed in `model.safetensors.index.json`.
///
/// Opening the directory reads `config.json` and the index and checks that every shard named
/// exists. A shard is opened (mapped, header validated, and checked to contain every tensor the
/// index maps to it) the first time one of its tensors is asked for, so a rank that builds
/// blocks 10–19 never touches the other shards' pages. `validateAllShards()` opens them all,
/// for `owlprune inspect` and for checking an output directory.
public final class CheckpointDirectory: @unchecked Sendable {
    public static let singleFileName = "model.safetensors"
    public static let configFileName = "config.json"

    public let url: URL
    public let config: ModelConfig
    /// nil for a single-file checkpoint.
    public let index: ShardIndex?
    /// All tensor names, sorted.
    public let tensorNames: [String]

    private let shardOf: [String: String]
    /// Opened shards; guarded by `lock` because ranks may load weights from several threads.
    private var opened: [String: SafetensorsFile] = [:]
    private let lock = NSLock()

    public init(url: URL) throws {
        self.url = url
        config = try ModelConfig(contentsOf: url.appendingPathComponent(Self.configFileName))
        try config.checkSizes(file: Self.configFileName)
        let indexURL = url.appendingPathComponent(ShardIndex.fileName)
        if FileManager.default.fileExists(atPath: indexURL.path) {
            let index = try ShardIndex(contentsOf: indexURL)
            for shard in index.shardFileNames {
                guard !shard.contains("/"), FileManager.default.fileExists(atPath: url.appendingPathComponent(shard).path) else {
                    throw CheckpointError.missingShard(file: ShardIndex.fileName, shard: shard)
                }
            }
            self.index = index
            shardOf = index.weightMap
            tensorNames = index.weightMap.keys.sorted()
        } else {
            let single = try SafetensorsFile(url: url.appendingPathComponent(Self.singleFileName))
            index = nil
            opened[Self.singleFileName] = single
            shardOf = Dictionary(uniqueKeysWithValues: single.tensorNames.map { ($0, Self.singleFileName) })
            tensorNames = single.tensorNames.sorted()
        }
    }

    public func contains(_ name: String) -> Bool { shardOf[name] != nil }

    /// The shard file (name within the directory) holding `name`.
    public func shardFileName(of name: String) -> String? { shardOf[name] }

    public func info(_ name: String) throws -> TensorInfo {
        let shard = try shard(containing: name)
        guard let info = shard.info(name) else { throw CheckpointError.tensorNotFound(file: shard.fileName, tensor: name) }
        return info
    }

    public func dtype(_ name: String) throws -> SafetensorsDType { try info(name).dtype }

    /// The tensor as float32 in checkpoint layout; vectors as 1×n (`SafetensorsFile.matrix`).
    /// Weights the model uses must be finite, so a NaN or infinity is an error naming the tensor
    /// (the file-level reader stays raw, for inspection and bit-exact round trips).
    public func matrix(_ name: String) throws -> Matrix {
        let shard = try shard(containing: name)
        let m = try shard.matrix(name)
        try FiniteWeights.check(m, file: shard.fileName, tensor: name)
        return m
    }

    /// Selected rows of a 2-D tensor (embedding lookups), see `SafetensorsFile.rows`; finite, as `matrix`.
    public func rows(_ name: String, _ indices: [Int]) throws -> Matrix {
        let shard = try shard(containing: name)
        let m = try shard.rows(name, indices)
        try FiniteWeights.check(m, file: shard.fileName, tensor: name)
        return m
    }

    /// The opened shard that holds `name`, opening it on first use.
    public func shard(containing name: String) throws -> SafetensorsFile {
        guard let shardName = shardOf[name] else {
            throw CheckpointError.tensorNotFound(file: url.lastPathComponent, tensor: name)
        }
        return try shard(named: shardName)
    }

    /// Opens every shard, validating each header and the index entries that point at it.
    public func validateAllShards() throws {
        for shard in Set(shardOf.values).sorted() { _ = try self.shard(named: shard) }
    }

    /// Names of the shards opened so far, sorted (tests use it to check laziness).
    public var openedShardFileNames: [String] {
        lock.withLock { opened.keys.sorted() }
    }

    private func shard(named shardName: String) throws -> SafetensorsFile {
        try lock.withLock {
            if let file = opened[shardName] { return file }
            let file = try SafetensorsFile(url: url.appendingPathComponent(shardName))
            for (tensor, owner) in shardOf.sorted(by: { $0.key < $1.key }) where owner == shardName && !file.contains(tensor) {
                throw CheckpointError.tensorNotInShard(file: ShardIndex.fileName, tensor: tensor, shard: shardName)
            }
            opened[shardName] = file
            return file
        }
    }
}
