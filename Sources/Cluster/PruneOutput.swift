import Checkpoint
import Foundation
import MPIKit
import Pruning

/// Writes a finished pruning run as a Hugging Face directory (DESIGN.md §3 "Output"): every rank
/// its shard into the staging directory; rank 0 the index, the unchanged config and tokenizer
/// files, `owlprune-plan.json` and `owlprune-report.json` (assembled from every rank's fragment);
/// then, once every rank has returned from writing, rank 0 renames the staging directory.
/// A rank that fails throws before the barrier, the CLI aborts the job, and no `OUT/` appears.
public struct PruneOutput {
    public static let planFileName = "owlprune-plan.json"
    public static let reportFileName = "owlprune-report.json"

    public let job: PruneJob
    public let plan: SparsityPlan
    public let input: CheckpointDirectory
    public let staged: StagedDirectory
    public let arguments: [String: String]

    public init(job: PruneJob, plan: SparsityPlan, input: CheckpointDirectory, staged: StagedDirectory,
                arguments: [String: String]) {
        self.job = job
        self.plan = plan
        self.input = input
        self.staged = staged
        self.arguments = arguments
    }

    /// Returns the merged report on rank 0 (nil elsewhere).
    @discardableResult
    public func write() throws -> [String: Any]? {
        let comm = job.comm
        let t0 = Communicator.wallTime
        if comm.rank == 0 { try staged.create() }
        try comm.barrier()
        let ranges = try partition(parameterCounts: Array(repeating: job.slice.architecture.shape.parameterCount,
                                                          count: job.slice.architecture.blockCount), ranks: comm.size)
        let output = ShardedOutput(ranges: ranges, input: input)
        try output.writeShard(rank: comm.rank, blocks: job.slice.blocks, into: staged)
        if comm.rank == 0 {
            try output.writeIndex(into: staged)
            try output.copyAuxiliaryFiles(into: staged)
            try plan.canonicalJSON().write(to: staged.file(Self.planFileName))
        }
        job.recordWrite(seconds: Communicator.wallTime - t0)
        let fragments = try comm.gatherBytes(Array(try fragment()), root: 0)
        var report: [String: Any]? = nil
        if comm.rank == 0 {
            let merged = try mergedReport(fragments)
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

    /// This rank's part of the report.
    private func fragment() throws -> Data {
        let t = job.times
        let object: [String: Any] = [
            "rank": job.comm.rank, "host": job.comm.processorName,
            "blocks": [job.slice.blockRange.lowerBound, job.slice.blockRange.upperBound],
            "peak_rss_bytes": peakResidentBytes(),
            "busy_seconds": job.pipelineTimings.busySeconds, "idle_seconds": job.pipelineTimings.idleSeconds,
            "bytes_sent": job.pipelineTimings.bytesSent, "resumed_blocks": job.resumedBlocks,
            "phase_seconds": ["load": t.load, "statistics": t.statistics, "plan": t.plan, "prune": t.prune, "write": t.write],
            "linears": job.outcomes.map { o in
                ["name": o.name, "planned_sparsity": o.plannedSparsity, "pruned": o.prunedCount, "rows": o.rows, "cols": o.cols,
                 "total": o.total,
                 "achieved_sparsity": o.achievedSparsity] as [String: Any]
            },
        ]
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }

    private func mergedReport(_ fragments: [[UInt8]]) throws -> [String: Any] {
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
            "arguments": arguments, "ranks": job.comm.size, "propagation": job.configuration.propagation.rawValue,
            "calibration": calibration, "linears": linears,
            "achieved_sparsity": total == 0 ? 0 : Double(pruned) / Double(total),
            "per_rank": perRank,
        ]
    }
}
