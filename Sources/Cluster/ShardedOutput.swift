import Checkpoint
import Foundation
import Model
import Tensor

/// Who writes which tensor (DESIGN.md §3 "Output"): the tensors of block b go into the shard of
/// the rank that owns b; everything outside the blocks (embedding, final norm, head) into rank 0's.
/// Every rank derives the same assignment from the partition, so rank 0 writes the index without
/// asking anyone.
public struct ShardedOutput: Sendable {
    public let ranges: [Range<Int>]
    public let input: CheckpointDirectory

    public init(ranges: [Range<Int>], input: CheckpointDirectory) {
        self.ranges = ranges
        self.input = input
    }

    public var shardCount: Int { ranges.count }

    public func shardName(rank: Int) -> String { ShardIndex.shardFileName(index: rank + 1, count: ranges.count) }

    public func owner(of tensor: String) -> Int {
        let prefix = "model.layers."
        guard tensor.hasPrefix(prefix) else { return 0 }
        let digits = tensor.dropFirst(prefix.count).prefix { $0.isNumber }
        guard let block = Int(digits) else { return 0 }
        return ranges.firstIndex { $0.contains(block) } ?? 0
    }

    public func tensors(of rank: Int) -> [String] { input.tensorNames.filter { owner(of: $0) == rank } }

    /// Writes this rank's shard: pruned linears from `blocks` in the input's dtype, every other
    /// tensor copied byte for byte from the input.
    public func writeShard(rank: Int, blocks: [DecoderBlock], into dir: StagedDirectory) throws {
        var replaced: [String: Matrix] = [:]
        for block in blocks {
            for linear in BlockLinear.allCases { replaced[linear.weightName(block: block.index)] = block.weight(linear) }
        }
        let names = tensors(of: rank)
        let entries = try names.map { name in
            let info = try input.info(name)
            return SafetensorsWriter.Entry(name: name, dtype: info.dtype, shape: info.shape)
        }
        let writer = try SafetensorsWriter(url: dir.file(shardName(rank: rank)), entries: entries,
                                           metadata: ["format": "pt"])
        for name in names {
            if let m = replaced[name] {
                try writer.write(name, m)
            } else {
                try writer.write(name, rawBytes: try input.shard(containing: name).data(name))
            }
        }
        try writer.finish()
    }

    /// `model.safetensors.index.json` for all shards.
    public func writeIndex(into dir: StagedDirectory) throws {
        var map: [String: String] = [:]
        var total = 0
        for name in input.tensorNames {
            map[name] = shardName(rank: owner(of: name))
            total += try input.info(name).byteCount
        }
        try ShardIndex(totalSize: total, weightMap: map).write(to: dir.file(ShardIndex.fileName))
    }

    /// Files a loader needs beside the weights, copied unchanged (config.json byte for byte).
    public static let auxiliaryFiles = ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                                        "special_tokens_map.json", "tokenizer.model", "vocab.json", "merges.txt"]

    public func copyAuxiliaryFiles(into dir: StagedDirectory) throws {
        let fm = FileManager.default
        for name in Self.auxiliaryFiles {
            let src = input.url.appendingPathComponent(name)
            if fm.fileExists(atPath: src.path) { try fm.copyItem(at: src, to: dir.file(name)) }
        }
    }
}
