import Foundation

/// Which file each output tensor goes into and at which byte, computed from the tensors' sizes
/// alone, so the shard names and bytes of `prune --max-shard-size` do not depend on the rank
/// count (docs/design.md §3 "Output").
///
/// The split is Hugging Face's: huggingface_hub `serialization/_base.py`
/// (`split_state_dict_into_shards_factory`, which transformers' `save_pretrained` calls) walks
/// the tensors in order, starts a new shard when the next tensor would take the current one past
/// the limit, and gives a tensor larger than the limit a shard of its own (placed before the shard
/// still being filled). Sizes are data bytes only; headers are not counted. One shard is called
/// `model.safetensors` with no index, more are `model-00001-of-0000N.safetensors` plus
/// `model.safetensors.index.json`.
public struct ShardPlan: Sendable, Equatable {
    /// transformers' default `max_shard_size` ("5GB", powers of ten).
    public static let defaultMaxShardSize = 5_000_000_000

    public struct File: Sendable, Equatable {
        public var name: String
        public var entries: [SafetensorsWriter.Entry]
    }

    /// Where a tensor's data goes: file index in `files`, and the byte offset in that file.
    public struct Placement: Sendable, Equatable {
        public var file: Int
        public var offset: Int
        public var entry: SafetensorsWriter.Entry
    }

    public let files: [File]
    public let metadata: [String: String]
    private let placements: [String: Placement]

    /// - Parameter entries: every output tensor, in the order it is written.
    public init(entries: [SafetensorsWriter.Entry], maxShardSize: Int, metadata: [String: String] = ["format": "pt"]) {
        var groups: [[SafetensorsWriter.Entry]] = []
        var current: [SafetensorsWriter.Entry] = []
        var currentSize = 0
        for entry in entries {
            let size = entry.byteCount
            if size > maxShardSize {
                groups.append([entry])
                continue
            }
            if currentSize + size > maxShardSize, !current.isEmpty {
                groups.append(current)
                current = []
                currentSize = 0
            }
            current.append(entry)
            currentSize += size
        }
        if !current.isEmpty || groups.isEmpty { groups.append(current) }
        let count = groups.count
        files = groups.enumerated().map { i, group in
            File(name: count == 1 ? CheckpointDirectory.singleFileName : ShardIndex.shardFileName(index: i + 1, count: count),
                 entries: group)
        }
        self.metadata = metadata
        var placements: [String: Placement] = [:]
        for (i, file) in files.enumerated() {
            var offset = 8 + SafetensorsWriter.headerJSON(entries: file.entries, metadata: metadata).count
            for entry in file.entries {
                placements[entry.name] = Placement(file: i, offset: offset, entry: entry)
                offset += entry.byteCount
            }
        }
        self.placements = placements
    }

    public func placement(of name: String) -> Placement? { placements[name] }

    /// The index transformers writes beside several shards; nil for a single file, which
    /// transformers saves without one.
    public var index: ShardIndex? {
        guard files.count > 1 else { return nil }
        var map: [String: String] = [:]
        for file in files { for e in file.entries { map[e.name] = file.name } }
        return ShardIndex(totalSize: files.reduce(0) { $0 + $1.entries.reduce(0) { $0 + $1.byteCount } }, weightMap: map)
    }
}
