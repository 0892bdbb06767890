import Checkpoint
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
/// and once every rank has finished, renames the staging directory. A rank that fails throws, the
/// CLI aborts the job, and no `OUT/` appears.
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
    /// Rank 0 only: more files for the output directory, made from the merged report just before
    /// the rename (the CLI's `owlprune-plan.svg`), so they appear with the shards or not at all.
    public var extraFiles: ((SparsityPlan, PruneReport) throws -> [String: Data])?
    /// `--remove-by`: the block removal that preceded the prune, recorded in the report.
    public var blockRemoval: BlockRemovalResult?
    /// `--remove-by streamline --replacement layer`: the training's log, recorded in the report.
    public var streamlineTraining: StreamlineTrainingLog?

    /// - Parameter layout: the job's rank layout (`PruneJob.layout`): rank r writes its blocks' tensors.
    /// - Parameter maxShardSize: `prune --max-shard-size` in bytes; the shards do not follow the ranks.
    public init(comm: Communicator, layout: RankLayout, input: CheckpointDirectory, staged: StagedDirectory,
                arguments: PruneArguments, dtype: SafetensorsDType? = nil, renumbering: BlockRenumbering? = nil,
                maxShardSize: Int = ShardPlan.defaultMaxShardSize, replacedTensors: [String: Matrix] = [:]) throws {
        self.comm = comm
        self.input = input
        self.staged = staged
        self.arguments = arguments
        output = try ShardedOutput(ranges: layout.blockRanges, input: input, dtype: dtype, renumbering: renumbering,
                                   maxShardSize: maxShardSize, spreadsBlocks: layout.spreadsBlockWrites,
                                   replacedTensors: replacedTensors)
    }

    /// The one sequence of a prune into its directory (issue 23 item 2): `begin`, the job's blocks
    /// streamed in as they finish, `finish` (index, plan, report, extra files, rename). `prune`,
    /// every sweep cell, every ATP β point and `bench prune` write through it.
    @discardableResult
    public func write(_ job: PruneJob, journalDirectory: URL? = nil, resume: Bool = false)
        throws -> (result: PruneResult, report: PruneReport?) {
        try begin()
        let result = try job.run(journalDirectory: journalDirectory, resume: resume, sink: write(block:))
        return (result, try finish(job: job, result: result))
    }

    public func begin() throws {
        if comm.rank == 0 {
            try staged.create()
            try timed { try output.createShards(in: staged) }
        }
        try comm.barrier()
        try timed { stream = try output.openShard(rank: comm.rank, into: staged) }
    }

    public func write(block: DecoderBlock) throws {
        FaultInjection.point("write block \(block.index)", rank: comm.rank)
        try timed { try stream!.write(block: block) }
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
            for (name, data) in try extraFiles?(plan, merged) ?? [:] { try data.write(to: staged.file(name)) }
            report = merged
        }
        try comm.barrier()
        if comm.rank == 0 {
            try staged.commit()
            FaultInjection.point("renamed", rank: comm.rank)
            if let journal = result.journalDirectory { try? FileManager.default.removeItem(at: journal) }
        }
        // Nobody may read the output before rank 0 has renamed it into place: a sweep cell or
        // `prune --eval` opens the directory right after this returns, on every rank.
        try comm.barrier()
        return report
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
            memoryBudget: .init(blockBytes: budget.blockBytes, activationBytes: budget.activationBytes,
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
