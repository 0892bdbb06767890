import Checkpoint
import Distribution
import Foundation
import Model
import Tensor

/// Who writes which tensor, and where (docs/design.md §3 "Output"). The tensors of block b are
/// written by the rank that owns b — or, when `spreadsBlocks` (the windows split, where every rank
/// holds each pruned block), its seven linears are dealt over all ranks by `WriteAssignment` and
/// only its norms and biases stay with the owner; everything outside the blocks (embedding,
/// final norm, head) by rank 0. Where they go is the `ShardPlan`: Hugging Face's size-based split of the tensors in
/// file order (embedding, blocks in order, then the rest), from sizes alone, so names and bytes
/// do not depend on the rank count. Every rank derives the same plan, so rank 0 writes the index
/// and the headers without asking anyone. Naming and ownership live here and nowhere else.
public struct ShardedOutput: Sendable {
    public let ranges: [Range<Int>]
    public let input: CheckpointDirectory
    /// `prune --dtype`: every floating-point tensor is written in this dtype (nil: each in the
    /// input's). Integer tensors are always copied as they are.
    public let dtype: SafetensorsDType?
    /// Depth pruning (issue 12 item 6): the output holds only the kept blocks, renumbered; every
    /// output name maps to its input tensor through `renumbering.inputName(of:)`. nil: the input's names.
    public let renumbering: BlockRenumbering?
    public let plan: ShardPlan
    /// Every rank calls `ShardStream.write(block:)` for every block and writes its dealt linears.
    public let spreadsBlocks: Bool
    /// `--remove-by streamline --replacement linear|layer`: output tensors whose values are not
    /// the input's (the replacement block's, `ReplacedBlockSource.tensors`). A tensor the prune
    /// does not change (norms, biases, q/k norms) is written from here instead of copied.
    public let replacedTensors: [String: Matrix]

    public init(ranges: [Range<Int>], input: CheckpointDirectory, dtype: SafetensorsDType? = nil,
                renumbering: BlockRenumbering? = nil,
                maxShardSize: Int = ShardPlan.defaultMaxShardSize, spreadsBlocks: Bool = false,
                replacedTensors: [String: Matrix] = [:]) throws {
        self.ranges = ranges
        self.replacedTensors = replacedTensors
        self.spreadsBlocks = spreadsBlocks
        self.input = input
        self.dtype = dtype
        self.renumbering = renumbering
        let names = renumbering.map { r in input.tensorNames.compactMap(r.outputName(of:)) } ?? input.tensorNames
        let entries = try Self.fileOrder(names).map { name in
            let source = renumbering?.inputName(of: name) ?? name
            return SafetensorsWriter.Entry(name: name, dtype: try Self.outputDType(source, input: input, dtype: dtype),
                                           shape: try input.info(source).shape)
        }
        plan = ShardPlan(entries: entries, maxShardSize: maxShardSize)
    }

    /// The dtype output tensor `name` is written in.
    public func outputDType(_ name: String) throws -> SafetensorsDType {
        try Self.outputDType(inputName(name), input: input, dtype: dtype)
    }

    private static func outputDType(_ source: String, input: CheckpointDirectory, dtype: SafetensorsDType?) throws -> SafetensorsDType {
        let stored = try input.info(source).dtype
        guard let dtype, stored.isFloatConvertible else { return stored }
        return dtype
    }

    /// The output's tensor names (the input's, or those of the kept blocks renumbered).
    public var tensorNames: [String] { plan.files.flatMap { $0.entries.map(\.name) } }

    /// The input tensor an output tensor comes from.
    public func inputName(_ name: String) -> String { renumbering?.inputName(of: name) ?? name }

    /// The stored info of output tensor `name` (its input tensor's).
    public func info(_ name: String) throws -> TensorInfo { try input.info(inputName(name)) }

    /// The order tensors take in the files, as a model's `state_dict` lists them: the embedding,
    /// the blocks in order (each block's tensors by name), then the rest (final norm, head).
    public static func fileOrder(_ names: [String]) -> [String] {
        func key(_ name: String) -> (Int, Int, String) {
            if let b = block(of: name) { return (1, b, name) }
            return (name.contains("embed") ? 0 : 2, 0, name)
        }
        return names.sorted { key($0) < key($1) }
    }

    public var shardCount: Int { plan.files.count }

    /// The rank that writes `tensor`.
    public func owner(of tensor: String) -> Int {
        guard let block = Self.block(of: tensor) else { return 0 }
        let owner = ranges.firstIndex { $0.contains(block) } ?? 0
        guard spreadsBlocks, let linear = BlockLinear.allCases.first(where: { $0.weightName(block: block) == tensor }) else {
            return owner
        }
        return writeAssignment(block: block).rank(of: linear)
    }

    /// The deal of block `block`'s linears, from their shapes in the input (the same numbers as
    /// the architecture's, so the journal's deal agrees).
    func writeAssignment(block: Int) -> WriteAssignment {
        let counts = BlockLinear.allCases.map { l in (l, (try? info(l.weightName(block: block)).shape.reduce(1, *)) ?? 0) }
        return WriteAssignment(elementCounts: Dictionary(uniqueKeysWithValues: counts), ranks: ranges.count)
    }

    /// The block a tensor belongs to, or nil outside the blocks.
    public static func block(of tensor: String) -> Int? {
        let prefix = "model.layers."
        guard tensor.hasPrefix(prefix) else { return nil }
        return Int(tensor.dropFirst(prefix.count).prefix { $0.isNumber })
    }

    /// Rank `rank`'s tensors in the order it writes them: those outside the blocks first (rank 0
    /// only), then block by block, as blocks finish one after another.
    public func tensors(of rank: Int) -> [String] {
        let mine = tensorNames.filter { owner(of: $0) == rank }
        let outside = mine.filter { Self.block(of: $0) == nil }
        let inside = mine.filter { Self.block(of: $0) != nil }.sorted { (Self.block(of: $0)!, $0) < (Self.block(of: $1)!, $1) }
        return outside + inside
    }

    /// Rank 0, before any rank writes: every shard file with its header, at its full length.
    public func createShards(in dir: StagedDirectory) throws {
        for (i, file) in plan.files.enumerated() { try SafetensorsShardFile.create(plan, file: i, at: dir.file(file.name)) }
    }

    /// A rank's writer into the shards `createShards` made: `begin` writes the tensors outside
    /// the blocks, `write(block:)` each finished block (pruned linears in the output dtype,
    /// everything else copied byte for byte), `finish` checks every tensor of this rank was
    /// written and flushes. Each tensor goes to its fixed offset, so the order does not matter.
    public final class ShardStream {
        let output: ShardedOutput
        let names: [String]
        let dir: StagedDirectory
        var position = 0
        private var files: [Int: SafetensorsShardFile] = [:]

        init(output: ShardedOutput, rank: Int, into dir: StagedDirectory) throws {
            self.output = output
            self.dir = dir
            names = output.tensors(of: rank)
            while position < names.count, ShardedOutput.block(of: names[position]) == nil { try copy(names[position]) }
        }

        private func file(for name: String) throws -> SafetensorsShardFile {
            guard let place = output.plan.placement(of: name) else {
                throw ClusterError.peerFailed("tensor \(name) has no place in the output shards")
            }
            if let open = files[place.file] { return open }
            let opened = try SafetensorsShardFile(output.plan, file: place.file, at: dir.file(output.plan.files[place.file].name))
            files[place.file] = opened
            return opened
        }

        /// Byte for byte when the dtype is kept; through float32 (exact for a wider dtype,
        /// round-to-nearest-even for a narrower one) when `--dtype` changes it.
        private func copy(_ name: String) throws {
            let shard = try file(for: name)
            let source = output.inputName(name)
            if let m = output.replacedTensors[name] {
                try shard.write(name, m)
            } else if try output.outputDType(name) == output.input.info(source).dtype {
                try output.input.shard(containing: source).withRawBytes(source) { try shard.write(name, rawBuffer: $0) }
            } else {
                try shard.write(name, try output.input.matrix(source))
            }
            position += 1
        }

        /// The block's tensors: the pruned linears converted on up to `threads` threads (grouped by
        /// the shard file they go to), the rest copied.
        public func write(block: DecoderBlock, threads: Int = 1) throws {
            var replaced: [String: Matrix] = [:]
            for linear in BlockLinear.allCases { replaced[linear.weightName(block: block.index)] = block.weight(linear) }
            var converted: [Int: [(name: String, matrix: Matrix)]] = [:]
            while position < names.count, ShardedOutput.block(of: names[position]) == block.index {
                let name = names[position]
                if let m = replaced[name] {
                    guard let place = output.plan.placement(of: name) else {
                        throw ClusterError.peerFailed("tensor \(name) has no place in the output shards")
                    }
                    converted[place.file, default: []].append((name, m))
                    position += 1
                } else {
                    try copy(name)
                }
            }
            for (_, tensors) in converted.sorted(by: { $0.key < $1.key }) {
                try file(for: tensors[0].name).write(tensors, threads: threads)
            }
            for file in files.values { file.startWriteback() }
        }

        /// Every tensor of `block` written from its float32 values (`DecoderBlock.parameterNames`:
        /// linears, norms, biases, q/k norms) in the output dtype — a block whose every weight
        /// may have changed (streamline's replacement). Names are the output's (block.index).
        public func write(everyParameterOf block: DecoderBlock) throws {
            var replaced: [String: Matrix] = [:]
            for (name, values) in zip(block.parameterNames, block.parameterTensors) {
                replaced[name] = Matrix(rows: 1, cols: values.count, elements: values)
            }
            for linear in BlockLinear.allCases { replaced[linear.weightName(block: block.index)] = block.weight(linear) }
            while position < names.count, ShardedOutput.block(of: names[position]) == block.index {
                let name = names[position]
                guard let m = replaced[name] else {
                    throw ClusterError.peerFailed("output block \(block.index): tensor \(name) is not a parameter of the replacement layer")
                }
                try file(for: name).write(name, m)
                position += 1
            }
        }

        /// Block `index`'s tensors copied unchanged (depth pruning without weight pruning).
        public func copy(block index: Int) throws {
            while position < names.count, ShardedOutput.block(of: names[position]) == index { try copy(names[position]) }
        }

        public func finish() throws {
            guard position == names.count else {
                throw ClusterError.peerFailed("output shards: \(names.count - position) tensors were never written (from \(names[position]))")
            }
            let mine = Set(names)
            for (i, file) in files.sorted(by: { $0.key < $1.key }) {
                try file.finish(expected: output.plan.files[i].entries.map(\.name).filter(mine.contains))
            }
        }
    }

    public func openShard(rank: Int, into dir: StagedDirectory) throws -> ShardStream {
        try ShardStream(output: self, rank: rank, into: dir)
    }

    /// `model.safetensors.index.json` when there are several shards (a single
    /// `model.safetensors` has none, as transformers saves it).
    public func writeIndex(into dir: StagedDirectory) throws {
        try plan.index?.write(to: dir.file(ShardIndex.fileName))
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
