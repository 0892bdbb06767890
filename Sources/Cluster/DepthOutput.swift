import Checkpoint
import Distribution
import Foundation
import MPIKit
import Model
import Pruning

/// `owlprune-report.json` of a depth-only prune (`--method shortgpt|sleb --remove-blocks K`): the
/// removal with every block's score, the calibration, and who wrote which blocks.
public struct DepthReport: Codable, Sendable {
    public var owlpruneVersion = PruneReport.toolVersion
    public var startedAt: String
    public var finishedAt: String
    public var wallSeconds: Double
    public var method: String
    public var removeBlocks: Int
    public var arguments: Arguments
    public var ranks: Int
    public var calibration: PruneReport.Calibration
    public var blockRemoval: BlockRemovalResult
    /// Per rank: the output blocks (renumbered) it copied into its shard.
    public var blocksPerRank: [[Int]]
    /// `--replacement layer`: the training (losses, times, the state kept).
    public var streamlineTraining: StreamlineTrainingLog?

    public init(started: Date, finished: Date, method: String, removeBlocks: Int, arguments: Arguments, ranks: Int,
                windows: CalibrationWindows, blockRemoval: BlockRemovalResult, blocksPerRank: [[Int]],
                streamlineTraining: StreamlineTrainingLog? = nil) {
        self.streamlineTraining = streamlineTraining
        let iso = ISO8601DateFormatter()
        startedAt = iso.string(from: started)
        finishedAt = iso.string(from: finished)
        wallSeconds = finished.timeIntervalSince(started)
        self.method = method
        self.removeBlocks = removeBlocks
        self.arguments = arguments
        self.ranks = ranks
        calibration = .init(windows: windows.count, seqlen: windows.length, tokensHash: windows.hash, starts: windows.starts)
        self.blockRemoval = blockRemoval
        self.blocksPerRank = blocksPerRank
    }

    public struct Arguments: Codable, Sendable {
        public var model: String
        public var out: String
        public var method: String
        public var removeBlocks: Int
        public var nsamples: Int
        public var seqlen: Int?
        public var seed: UInt64
        public var calib: String?
        public var calibTokens: String?
        public var threads: Int?

        public init(model: String, out: String, method: String, removeBlocks: Int, nsamples: Int, seqlen: Int?, seed: UInt64,
                    calib: String?, calibTokens: String?, threads: Int?) {
            self.model = model; self.out = out; self.method = method; self.removeBlocks = removeBlocks
            self.nsamples = nsamples; self.seqlen = seqlen; self.seed = seed; self.calib = calib
            self.calibTokens = calibTokens; self.threads = threads
        }
    }
}

/// `owlprune-plan.json` of a depth-only prune: what decides the bits (method, K, the removal and
/// its scores, the windows), identical for any rank count.
public struct DepthPlan: Codable, Sendable {
    public var method: String
    public var removeBlocks: Int
    public var blockRemoval: BlockRemovalResult
    public var modelId: String
    public var seed: UInt64?
    public var windowsHash: String
    /// `--replacement layer`: the training settings and the held-out windows' hash.
    public var training: StreamlineTrainingSettings?
    public var heldoutHash: String?

    public init(method: String, removeBlocks: Int, blockRemoval: BlockRemovalResult, modelId: String, seed: UInt64?, windowsHash: String,
                training: StreamlineTrainingSettings? = nil, heldoutHash: String? = nil) {
        self.training = training; self.heldoutHash = heldoutHash
        self.method = method; self.removeBlocks = removeBlocks; self.blockRemoval = blockRemoval
        self.modelId = modelId; self.seed = seed; self.windowsHash = windowsHash
    }

    public func json() throws -> Data {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.sortedKeys]
        return try e.encode(self)
    }
}

/// Writes a depth-only prune as a Hugging Face directory: the same shard layout as a prune of the
/// reduced model (shard r holds rank r's renumbered blocks, rank 0 also the tensors outside the
/// blocks), every tensor copied byte for byte from its input tensor, config.json edited
/// (`BlockRenumbering.editConfig`), all in the staging directory, renamed by rank 0 after a barrier.
public struct DepthOutput {
    public let comm: Communicator
    public let input: CheckpointDirectory
    public let staged: StagedDirectory
    public let renumbering: BlockRenumbering
    public let architecture: Architecture
    /// `prune --max-shard-size` in bytes.
    public let maxShardSize: Int
    /// Output blocks whose weights changed (streamline's block b with `--replacement linear|layer`),
    /// keyed by output index: every tensor of theirs is written from these, the rest copied.
    public let replaced: [Int: DecoderBlock]

    public init(comm: Communicator, input: CheckpointDirectory, staged: StagedDirectory, renumbering: BlockRenumbering,
                architecture: Architecture, maxShardSize: Int = ShardPlan.defaultMaxShardSize, replaced: [Int: DecoderBlock] = [:]) {
        self.replaced = replaced
        self.comm = comm
        self.input = input
        self.staged = staged
        self.renumbering = renumbering
        self.architecture = architecture
        self.maxShardSize = maxShardSize
    }

    /// Output blocks of every rank.
    public func layout() throws -> RankLayout {
        try RankLayout(blocks: renumbering.kept.count, parameterCountPerBlock: architecture.shape.parameterCount,
                       windows: comm.size, ranks: comm.size)
    }

    /// - Parameter files: rank 0's plan and report, made once the layout is known.
    public func write(files: (RankLayout) throws -> [String: Data]) throws {
        let layout = try layout()
        let output = try ShardedOutput(ranges: layout.blockRanges, input: input, renumbering: renumbering,
                                       maxShardSize: maxShardSize)
        if comm.rank == 0 {
            try staged.create()
            try output.createShards(in: staged)
        }
        try comm.barrier()
        FailureNotice.stopIfPeerFailed()
        let stream = try output.openShard(rank: comm.rank, into: staged)
        for j in layout.blockRanges[comm.rank] {
            FailureNotice.stopIfPeerFailed()
            if let block = replaced[j] { try stream.write(everyParameterOf: block) } else { try stream.copy(block: j) }
        }
        try stream.finish()
        if comm.rank == 0 {
            try output.writeIndex(into: staged)
            try output.copyAuxiliaryFiles(into: staged)
            for (name, data) in try files(layout) { try data.write(to: staged.file(name)) }
        }
        try comm.barrier()
        if comm.rank == 0 { try staged.commit() }
        // `--eval` reads the reduced model on every rank right after this returns.
        try comm.barrier()
    }
}
