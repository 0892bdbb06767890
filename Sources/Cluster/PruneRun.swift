import Distribution
import Foundation
import MPIKit
import Model
import Pruning
import Tensor

/// One `PruneJob.run` in progress: the job's fixed inputs (shared, read-only) and everything the
/// run accumulates — outcomes, phase times, timings, resumed blocks, the journal. The phase-2
/// strategies write here; `result(plan:)` turns it into the `PruneResult` the run returns, so no
/// mutable state outlives the run on the job.
final class PruneRun {
    let job: PruneJob
    var times = PhaseTimes()
    var pipelineTimings = PipelineTimings()
    var outcomes: [LinearOutcome] = []
    var resumedBlocks: [Int] = []
    var journal: BlockJournal?
    var resume = false
    var journalCache: [Int: (weights: [BlockLinear: Matrix], outcomes: [LinearOutcome])?] = [:]

    init(job: PruneJob) { self.job = job }

    var comm: Communicator { job.comm }
    var configuration: PruneConfiguration { job.configuration }
    var architecture: Architecture { job.architecture }
    var windows: CalibrationWindows { job.windows }
    var layout: RankLayout { job.layout }
    var blockRange: Range<Int> { job.blockRange }
    var threads: Int { job.threads }
    var rope: RoPETable { job.rope }
    var startedAt: Double { job.startedAt }
    var progress: (String) -> Void { job.progress }
    var width: Int { architecture.shape.hiddenSize }
    /// This rank's calibration windows in the windows split.
    var myWindows: Range<Int> { layout.windowShares[comm.rank] }
    var isFirst: Bool { comm.rank == 0 }
    var isLast: Bool { comm.rank == comm.size - 1 }

    func result(plan: SparsityPlan) -> PruneResult {
        PruneResult(plan: plan, outcomes: outcomes, times: times, timings: pipelineTimings, resumedBlocks: resumedBlocks,
                    journalDirectory: journal?.directory)
    }

    func load(_ index: Int) throws -> DecoderBlock {
        let t = Communicator.wallTime
        defer { times.load += Communicator.wallTime - t }
        return try DecoderBlock.load(index: index, shape: architecture.shape, from: job.source, threads: threads)
    }

    func embed(_ w: Int) throws -> Matrix {
        let ids = windows.window(w)
        if let bad = ids.first(where: { $0 < 0 || $0 >= architecture.vocabularySize }) {
            throw ModelError.tokenOutOfRange(id: bad, vocabulary: architecture.vocabularySize)
        }
        return try job.source.rows(ModelTensorName.embedding, ids)
    }

    /// Window index ranges of `threads` windows: a batch runs in parallel, then its results are
    /// used in window order, so statistics accumulate in exactly the serial order.
    func chunks(_ count: Int) -> [Range<Int>] {
        stride(from: 0, to: count, by: threads).map { $0..<min($0 + threads, count) }
    }

    func accumulate(_ t: PipelineTimings) {
        pipelineTimings.busySeconds += t.busySeconds
        pipelineTimings.idleSeconds += t.idleSeconds
        pipelineTimings.commSeconds += t.commSeconds
        pipelineTimings.bytesSent += t.bytesSent
    }

    /// Whole-job progress for one pass over `units` (`JobProgress`), relayed to rank 0.
    func relay(phase: String, unit: String = "block", units: Int, tokensPerUnit: Int, passes: Int = 1, pass: Int = 0) -> ProgressRelay {
        let meter = JobProgress(phase: phase, unit: unit, units: units, windows: windows.count, tokensPerUnit: tokensPerUnit,
                                passes: passes, pass: pass, started: job.startedAt, report: comm.rank == 0 ? job.meter : { _ in })
        return ProgressRelay(comm: comm, meter: meter)
    }

    /// Block passes of the job: OWL's (or DLP's) dense statistics pass, then pruning. Block
    /// scores a sweep computed once (`precomputedBlockScores`) skip the first pass here, so the
    /// progress line must not say "pass 2/2" (only the sequential strategy reads this).
    var blockPasses: Int { configuration.blockScorer == nil || job.precomputedBlockScores != nil ? 1 : 2 }

    /// Magnitude pruning reads only the weights: each owner prunes its own blocks, no calibration
    /// pass at all (either split).
    func pruneWeightsOnly(plan: SparsityPlan, sink: (DecoderBlock) throws -> Void) throws {
        let progress = relay(phase: "prune", units: architecture.blockCount, tokensPerUnit: 0)
        for index in blockRange {
            var block = try load(index)
            try prune(&block, statistics: BlockStatistics(shape: block.shape, collecting: []), plan: plan)
            try sink(block)
            try progress.finished(index)
        }
        try progress.finish()
    }
}
