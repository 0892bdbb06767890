import Checkpoint
import Distribution
import Foundation
import MPIKit
import Model
import Pruning
import Tensor

/// Writes a pruning run as a Hugging Face directory (docs/design.md §3 "Output") while it runs: `begin`
/// creates the staging directory `OUT.tmp-<runid>/` and (rank 0) every shard file at its full length, `write(block:)`
/// writes each finished block's tensors at their fixed offsets (so a rank never holds more than the block it works on),
/// and `finish` closes the shard; rank 0 then writes the index, the unchanged config and tokenizer
/// files, `owlprune-plan.json` and `owlprune-report.json` (assembled from every rank's fragment),
/// and `commit` adds the caller's files made from that report and, once every rank has finished,
/// renames the staging directory. A rank that fails throws, the CLI aborts the job, and no `OUT/`
/// appears.
public final class PruneOutput {
    public static let planFileName = "owlprune-plan.json"
    public static let reportFileName = "owlprune-report.json"

    public let comm: Communicator
    public let input: CheckpointDirectory
    public let staged: StagedDirectory
    public let arguments: PruneArguments
    private let started = Date()
    private let output: ShardedOutput
    private var stream: ShardedOutput.ShardStream?
    private var writeSeconds = 0.0
    /// Seconds of `write(_:)` and `commit` on this rank, by step (`bench prune --breakdown`).
    public private(set) var times = OutputTimes()

    /// `begin`, the job's run and `finish` of `write(_:)`, and the writing inside each (shard
    /// creation, block tensors, shard close, index and auxiliary files); the rest of `begin` and
    /// `finish` is their barriers, the report's gather and the rename.
    public struct OutputTimes: Sendable {
        public var begin = 0.0, run = 0.0, finish = 0.0
        public var writeInBegin = 0.0, writeInRun = 0.0, writeInFinish = 0.0
    }
    /// `--remove-by`: the block removal that preceded the prune, recorded in the report.
    public let blockRemoval: BlockRemovalResult?
    /// The journal `finish` found in the result, removed by `commit` once the output is in place.
    private var finishedJournal: URL?
    /// `--remove-by streamline --replacement layer`: the training's log, recorded in the report.
    public let streamlineTraining: StreamlineTrainingLog?

    /// - Parameter layout: the job's rank layout (`PruneJob.layout`): rank r writes its blocks' tensors.
    /// - Parameter maxShardSize: `prune --max-shard-size` in bytes; the shards do not follow the ranks.
    public init(comm: Communicator, layout: RankLayout, input: CheckpointDirectory, staged: StagedDirectory,
                arguments: PruneArguments, dtype: SafetensorsDType? = nil, renumbering: BlockRenumbering? = nil,
                blockRemoval: BlockRemovalResult? = nil, streamlineTraining: StreamlineTrainingLog? = nil,
                maxShardSize: Int = ShardPlan.defaultMaxShardSize, replacedTensors: [String: Matrix] = [:]) throws {
        self.comm = comm
        self.blockRemoval = blockRemoval
        self.streamlineTraining = streamlineTraining
        self.input = input
        self.staged = staged
        self.arguments = arguments
        output = try ShardedOutput(ranges: layout.blockRanges, input: input, dtype: dtype, renumbering: renumbering,
                                   maxShardSize: maxShardSize, spreadsBlocks: layout.spreadsBlockWrites,
                                   replacedTensors: replacedTensors)
    }

    /// The one sequence of a prune into its directory (issue 23 item 2): `begin`, the job's blocks
    /// streamed in as they finish (after `job.makePlan`, if the caller has not made it yet),
    /// `finish` (index, plan, report). `prune`, every sweep cell, every ATP β point and `bench
    /// prune` write through it, then `commit` with any files of their own made from the report.
    /// Returns the merged report on rank 0 (nil elsewhere).
    @discardableResult
    public func write(_ job: PruneJob, journalDirectory: URL? = nil, resume: Bool = false)
        throws -> (result: PruneResult, report: PruneReport?) {
        if stream == nil { try begin() }
        writeThreads = job.threads
        var t = Communicator.wallTime
        let result = try job.prune(journalDirectory: journalDirectory, resume: resume, sink: write(block:))
        times.run = Communicator.wallTime - t
        times.writeInRun = writeSeconds - times.writeInBegin
        t = Communicator.wallTime
        let report = try finish(job: job, result: result)
        times.finish = Communicator.wallTime - t
        times.writeInFinish = writeSeconds - times.writeInBegin - times.writeInRun
        return (result, report)
    }

    /// Creates the staging directory and the shards. `write` calls it if the caller has not:
    /// `prune` calls it before `job.makePlan()`, so a run stopped during its statistics pass
    /// already leaves the staging directory the next run reports and removes.
    public func begin() throws {
        let t = Communicator.wallTime
        if comm.rank == 0 {
            try staged.create()
            try timed { try output.createShards(in: staged) }
        }
        try comm.barrier()
        try timed { stream = try output.openShard(rank: comm.rank, into: staged) }
        times.begin = Communicator.wallTime - t
        times.writeInBegin = writeSeconds
    }

    /// Threads converting a block's tensors (the job's; while a forward runs alongside, the
    /// thread pool is busy and the conversion stays mostly on the calling thread).
    private var writeThreads = 1

    public func write(block: DecoderBlock) throws {
        FaultInjection.point("write block \(block.index)", rank: comm.rank)
        try timed { try stream!.write(block: block, threads: writeThreads) }
    }

    /// Returns the merged report on rank 0 (nil elsewhere).
    @discardableResult
    public func finish(job: PruneJob, result: PruneResult) throws -> PruneReport? {
        let plan = result.plan
        try timed {
            try stream!.finish()
            if comm.rank == 0 {
                try output.writeIndex(into: staged)
                try output.copyAuxiliaryFiles(into: staged)
                if let dtype = output.dtype { try Self.setTorchDType(dtype, in: staged.file("config.json")) }
                try plan.canonicalJSON().write(to: staged.file(Self.planFileName))
            }
        }
        var result = result
        result.times.write += writeSeconds
        let fragments = try comm.gather(Array(try JSONEncoder().encode(try fragment(job, result))), root: 0)
        var report: PruneReport? = nil
        if comm.rank == 0 {
            var merged = try mergedReport(fragments.map { try JSONDecoder().decode(RankFragment.self, from: Data($0)) },
                                          job: job, plan: plan)
            merged.warnings = PruneWarnings.of(plan: plan) + PruneWarnings.of(report: merged)
            merged.blockRemoval = blockRemoval
            merged.streamlineTraining = streamlineTraining
            try PruneReport.encoder().encode(merged).write(to: staged.file(Self.reportFileName))
            report = merged
        }
        finishedJournal = result.journalDirectory
        return report
    }

    /// Rank 0 writes `files` (made by the caller from `finish`'s report: the CLI's
    /// `owlprune-plan.svg` and recipe) into the staging directory, so they appear with the shards
    /// or not at all; once every rank has finished, rank 0 renames the directory into place and
    /// removes the journal. Returns when `OUT/` exists for every rank.
    public func commit(files: [String: Data] = [:]) throws {
        let t = Communicator.wallTime
        defer { times.finish += Communicator.wallTime - t }
        if comm.rank == 0 {
            for (name, data) in files { try data.write(to: staged.file(name)) }
        }
        try comm.barrier()
        if comm.rank == 0 {
            try staged.commit()
            FaultInjection.point("renamed", rank: comm.rank)
            if let journal = finishedJournal { try? FileManager.default.removeItem(at: journal) }
        }
        // Nobody may read the output before rank 0 has renamed it into place: a sweep cell or
        // `prune --eval` opens the directory right after this returns, on every rank.
        try comm.barrier()
    }

    /// After `--dtype`: config.json says the dtype the shards now hold (`torch_dtype`, and `dtype`
    /// where transformers 5 wrote it); otherwise the file stays byte for byte the input's.
    static func setTorchDType(_ dtype: SafetensorsDType, in url: URL) throws {
        let name = DType(dtype)?.torchName ?? DType.f32.torchName
        guard var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else { return }
        let stated = [object["torch_dtype"], object["dtype"]].compactMap { $0 as? String }
        if !stated.isEmpty, stated.allSatisfy({ $0 == name }) { return }
        if object["dtype"] != nil { object["dtype"] = name }
        if object["torch_dtype"] != nil || object["dtype"] == nil { object["torch_dtype"] = name }
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]).write(to: url, options: .atomic)
    }

    private func timed(_ body: () throws -> Void) rethrows {
        FailureNotice.stopIfPeerFailed()  // issue 10 item 5: nothing is written after a peer's error
        let t = Communicator.wallTime
        try body()
        writeSeconds += Communicator.wallTime - t
    }

    /// This rank's part of the report.
    private func fragment(_ job: PruneJob, _ result: PruneResult) throws -> RankFragment {
        let t = result.timings
        let windows = job.split == .windows ? job.layout.windowShares[comm.rank] : 0..<job.windows.count
        // A rank past the first in the windows split keeps its windows' Hessian products until
        // the statistics chain reaches it (`WindowOrderChain`).
        let heldTerms = job.split == .windows && comm.rank > 0 ? windows.count : 0
        let budget = try MemoryBudget(blocks: job.blockRange, checkpoint: input, shape: job.architecture.shape,
                                      windows: windows.count, length: job.windows.length, threads: job.threads,
                                      statistics: job.configuration.statisticKinds, heldTermWindows: heldTerms,
                                      baselineBytes: job.startResidentBytes)
        let peak = peakResidentBytes()
        let rank = RankReport(
            rank: comm.rank, host: comm.processorName, blocks: [job.blockRange.lowerBound, job.blockRange.upperBound],
            windows: [windows.lowerBound, windows.upperBound], peakRssBytes: peak,
            memoryBudget: .init(blockBytes: budget.blockBytes, workingBytes: budget.workingBytes, activationBytes: budget.activationBytes,
                                statisticsBytes: budget.statisticsBytes, blockFactor: MemoryBudget.blockFactor,
                                baselineBytes: budget.baselineBytes, boundBytes: budget.boundBytes, peakWithinBound: peak <= budget.boundBytes),
            busySeconds: t.busySeconds, idleSeconds: t.idleSeconds, commSeconds: t.commSeconds, solveSeconds: t.solveSeconds,
            bytesSent: t.bytesSent, threads: job.threads, resumedBlocks: result.resumedBlocks, phaseSeconds: result.times)
        return RankFragment(rank: rank, linears: result.outcomes.map(PruneReport.Linear.init))
    }

    private func mergedReport(_ fragments: [RankFragment], job: PruneJob, plan: SparsityPlan) throws -> PruneReport {
        let linears = fragments.flatMap(\.linears)
        let pruned = linears.reduce(0) { $0 + $1.pruned }
        let total = linears.reduce(0) { $0 + $1.total }
        let finished = Date()
        let iso = ISO8601DateFormatter()
        return PruneReport(
            startedAt: iso.string(from: started), finishedAt: iso.string(from: finished),
            wallSeconds: finished.timeIntervalSince(started), method: plan.method.rawValue,
            pattern: plan.pattern.description, targetSparsity: plan.targetSparsity,
            achievedSparsity: total == 0 ? 0 : Double(pruned) / Double(total), arguments: arguments, ranks: comm.size,
            propagation: job.configuration.propagation.rawValue, split: job.split.rawValue,
            calibration: .init(windows: job.windows.count, seqlen: job.windows.length, tokensHash: job.windows.hash,
                               starts: job.windows.starts),
            linears: linears, perRank: fragments.map(\.rank))
    }
}
