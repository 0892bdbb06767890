import Checkpoint
import Foundation
import Model
import Tensor

/// Who writes which tensor (docs/design.md §3 "Output"): the tensors of block b go into the shard of
/// the rank that owns b; everything outside the blocks (embedding, final norm, head) into rank 0's.
/// Every rank derives the same assignment from the partition, so rank 0 writes the index without
/// asking anyone.
public struct ShardedOutput: Sendable {
    public let ranges: [Range<Int>]
    public let input: CheckpointDirectory
    /// `prune --dtype`: every floating-point tensor is written in this dtype (nil: each in the
    /// input's). Integer tensors are always copied as they are.
    public let dtype: SafetensorsDType?
    /// Depth pruning (issue 12 item 6): the output holds only the kept blocks, renumbered; every
    /// output name is read from `renumbering.inputName(of:)`. nil: names are the input's.
    public var renumbering: BlockRenumbering?

    public init(ranges: [Range<Int>], input: CheckpointDirectory, dtype: SafetensorsDType? = nil) {
        self.ranges = ranges
        self.input = input
        self.dtype = dtype
    }

    /// The dtype `name` is written in.
    public func outputDType(_ name: String) throws -> SafetensorsDType {
        let stored = try info(name).dtype
        guard let dtype, stored.isFloatConvertible else { return stored }
        return dtype
    }

    public var shardCount: Int { ranges.count }

    /// The output's tensor names (the input's, or those of the kept blocks renumbered).
    public var tensorNames: [String] { renumbering.map { r in input.tensorNames.compactMap(r.outputName(of:)) } ?? input.tensorNames }

    /// The input tensor an output tensor comes from.
    public func inputName(_ name: String) -> String { renumbering?.inputName(of: name) ?? name }

    /// The stored info of output tensor `name` (its input tensor's).
    public func info(_ name: String) throws -> TensorInfo { try input.info(inputName(name)) }

    public func shardName(rank: Int) -> String { ShardIndex.shardFileName(index: rank + 1, count: ranges.count) }

    public func owner(of tensor: String) -> Int {
        guard let block = Self.block(of: tensor) else { return 0 }
        return ranges.firstIndex { $0.contains(block) } ?? 0
    }

    /// The block a tensor belongs to, or nil outside the blocks.
    public static func block(of tensor: String) -> Int? {
        let prefix = "model.layers."
        guard tensor.hasPrefix(prefix) else { return nil }
        return Int(tensor.dropFirst(prefix.count).prefix { $0.isNumber })
    }

    /// Rank `rank`'s tensors in shard order: those outside the blocks first (rank 0 only), then
    /// block by block, so the shard can be written while blocks finish one after another.
    public func tensors(of rank: Int) -> [String] {
        let mine = tensorNames.filter { owner(of: $0) == rank }
        let outside = mine.filter { Self.block(of: $0) == nil }
        let inside = mine.filter { Self.block(of: $0) != nil }.sorted { (Self.block(of: $0)!, $0) < (Self.block(of: $1)!, $1) }
        return outside + inside
    }

    /// A streaming writer for this rank's shard: `begin` writes the tensors outside the blocks,
    /// `write(block:)` each finished block (pruned linears in the input's dtype, everything else
    /// copied byte for byte), `finish` closes and renames the file.
    public final class ShardStream {
        let output: ShardedOutput
        let writer: SafetensorsWriter
        let names: [String]
        var position = 0

        init(output: ShardedOutput, rank: Int, into dir: StagedDirectory) throws {
            self.output = output
            names = output.tensors(of: rank)
            let entries = try names.map { name in
                let info = try output.info(name)
                return SafetensorsWriter.Entry(name: name, dtype: try output.outputDType(name), shape: info.shape)
            }
            writer = try SafetensorsWriter(url: dir.file(output.shardName(rank: rank)), entries: entries,
                                           metadata: ["format": "pt"])
            while position < names.count, ShardedOutput.block(of: names[position]) == nil { try copy(names[position]) }
        }

        /// Byte for byte when the dtype is kept; through float32 (exact for a wider dtype,
        /// round-to-nearest-even for a narrower one) when `--dtype` changes it.
        private func copy(_ name: String) throws {
            let source = output.inputName(name)
            if try output.outputDType(name) == output.input.info(source).dtype {
                try output.input.shard(containing: source).withRawBytes(source) { try writer.write(name, rawBuffer: $0) }
            } else {
                try writer.write(name, try output.input.matrix(source))
            }
            position += 1
        }

        public func write(block: DecoderBlock) throws {
            var replaced: [String: Matrix] = [:]
            for linear in BlockLinear.allCases { replaced[linear.weightName(block: block.index)] = block.weight(linear) }
            while position < names.count, ShardedOutput.block(of: names[position]) == block.index {
                let name = names[position]
                if let m = replaced[name] {
                    try writer.write(name, m)
                    position += 1
                } else {
                    try copy(name)
                }
            }
        }

        /// Block `index`'s tensors copied unchanged (depth pruning without weight pruning).
        public func copy(block index: Int) throws {
            while position < names.count, ShardedOutput.block(of: names[position]) == index { try copy(names[position]) }
        }

        public func finish() throws {
            guard position == names.count else {
                throw ClusterError.peerFailed("shard \(writer.destination.lastPathComponent): \(names.count - position) tensors were never written (from \(names[position]))")
            }
            try writer.finish()
        }
    }

    public func openShard(rank: Int, into dir: StagedDirectory) throws -> ShardStream {
        try ShardStream(output: self, rank: rank, into: dir)
    }

    /// `model.safetensors.index.json` for all shards.
    public func writeIndex(into dir: StagedDirectory) throws {
        var map: [String: String] = [:]
        var total = 0
        for name in tensorNames {
            map[name] = shardName(rank: owner(of: name))
            total += try info(name).shape.reduce(try outputDType(name).byteSize, *)
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
            if fm.fileExists(atPath: src.path) { try copyResolvingLinks(src, to: dir.file(name)) }
        }
        if let renumbering {
            let config = dir.file("config.json")
            try renumbering.editConfig(try Data(contentsOf: config), file: input.url.appendingPathComponent("config.json").path)
                .write(to: config, options: .atomic)
        }
    }
}
