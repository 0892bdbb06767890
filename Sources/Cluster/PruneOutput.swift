import Checkpoint
import Foundation
import MPIKit
import Model
import Pruning

/// Writes a pruning run as a Hugging Face directory (DESIGN.md §3 "Output") while it runs: `begin`
/// creates the staging directory `OUT.tmp-<runid>/` and opens this rank's shard, `write(block:)`
/// streams each finished block into it (so a rank never holds more than the block it works on),
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
    public let arguments: [String: String]
    private let output: ShardedOutput
    private var stream: ShardedOutput.ShardStream?
    private var writeSeconds = 0.0

    public init(comm: Communicator, architecture: Architecture, input: CheckpointDirectory, staged: StagedDirectory,
                arguments: [String: String]) throws {
        self.comm = comm
        self.input = input
        self.staged = staged
        self.arguments = arguments
        let ranges = try partition(parameterCounts: Array(repeating: architecture.shape.parameterCount,
                                                          count: architecture.blockCount), ranks: comm.size)
        output = ShardedOutput(ranges: ranges, input: input)
    }

    public func begin() throws {
        if comm.rank == 0 { try staged.create() }
        try comm.barrier()
        try timed { stream = try output.openShard(rank: comm.rank, into: staged) }
    }

    public func write(block: DecoderBlock) throws {
        try timed { try stream!.write(block: block) }
    }

    /// Returns the merged report on rank 0 (nil elsewhere).
    @discardableResult
    public func finish(job: PruneJob, plan: SparsityPlan) throws -> [String: Any]? {
        try timed {
            try stream!.finish()
            if comm.rank == 0 {
                try output.writeIndex(into: staged)
                try output.copyAuxiliaryFiles(into: staged)
                try plan.canonicalJSON().write(to: staged.file(Self.planFileName))
            }
        }
        job.recordWrite(seconds: writeSeconds)
        let fragments = try comm.gatherBytes(Array(try fragment(job)), root: 0)
        var report: [String: Any]? = nil
        if comm.rank == 0 {
            let merged = try mergedReport(fragments, job: job, plan: plan)
            try JSONSerialization.data(withJSONObject: merged, options: [.sortedKeys, .prettyPrinted])
                .write(to: staged.file(Self.reportFileName))
            report = merged
        }
        try comm.barrier()
        if comm.rank == 0 {
            try staged.commit()
            if let journal = job.journal { try? FileManager.default.removeItem(at: journal.directory) }
        }
        return report
    }

    private func timed(_ body: () throws -> Void) rethrows {
        let t = Communicator.wallTime
        try body()
        writeSeconds += Communicator.wallTime - t
    }

    /// This rank's part of the report.
    private func fragment(_ job: PruneJob) throws -> Data {
        let t = job.times
        let budget = try MemoryBudget(blocks: job.blockRange, checkpoint: input, shape: job.architecture.shape,
                                      windows: job.windows.count, length: job.windows.length, threads: job.threads,
                                      statistics: job.configuration.statisticKinds)
        let peak = peakResidentBytes()
        let object: [String: Any] = [
            "rank": comm.rank, "host": comm.processorName,
            "blocks": [job.blockRange.lowerBound, job.blockRange.upperBound],
            "peak_rss_bytes": peak,
            "memory_budget": ["block_bytes": budget.blockBytes, "activation_bytes": budget.activationBytes,
                              "statistics_bytes": budget.statisticsBytes, "block_factor": MemoryBudget.blockFactor,
                              "bound_bytes": budget.boundBytes, "peak_within_bound": peak <= budget.boundBytes] as [String: Any],
            "busy_seconds": job.pipelineTimings.busySeconds, "idle_seconds": job.pipelineTimings.idleSeconds,
            "comm_seconds": job.pipelineTimings.commSeconds, "solve_seconds": job.pipelineTimings.solveSeconds,
            "threads": job.threads,
            "bytes_sent": job.pipelineTimings.bytesSent, "resumed_blocks": job.resumedBlocks,
            "phase_seconds": ["load": t.load, "statistics": t.statistics, "plan": t.plan, "prune": t.prune, "write": t.write],
            "linears": job.outcomes.map { o in
                ["name": o.name, "planned_sparsity": o.plannedSparsity, "pruned": o.prunedCount, "rows": o.rows, "cols": o.cols,
                 "total": o.total, "achieved_sparsity": o.achievedSparsity] as [String: Any]
            },
        ]
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }

    private func mergedReport(_ fragments: [[UInt8]], job: PruneJob, plan: SparsityPlan) throws -> [String: Any] {
        let ranks = try fragments.map { try JSONSerialization.jsonObject(with: Data($0)) as! [String: Any] }
        let linears = ranks.flatMap { $0["linears"] as! [[String: Any]] }
        let pruned = linears.reduce(0) { $0 + ($1["pruned"] as! Int) }
        let total = linears.reduce(0) { $0 + ($1["total"] as! Int) }
        var calibration: [String: Any] = ["windows": job.windows.count, "seqlen": job.windows.length,
                                          "tokens_hash": job.windows.hash]
        if let starts = job.windows.starts { calibration["starts"] = starts }
        let perRank = ranks.map { r in r.filter { $0.key != "linears" } }
        return [
            "method": plan.method.rawValue, "pattern": plan.pattern.description, "target_sparsity": plan.targetSparsity,
            "arguments": arguments, "ranks": comm.size, "propagation": job.configuration.propagation.rawValue,
            "split": job.split.rawValue,
            "calibration": calibration, "linears": linears,
            "achieved_sparsity": total == 0 ? 0 : Double(pruned) / Double(total),
            "per_rank": perRank,
        ]
    }
}
