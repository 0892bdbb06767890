import Distribution
import MPIKit
import Model
import Pruning
import Tensor

/// `--split blocks` with dense propagation: every rank keeps all of its blocks resident and the
/// windows stream through the ranks once (`Pipeline`), so every block's statistics come from the
/// dense model and all ranks then prune at once. Faster with more ranks; memory is the rank's
/// share of the model. The same pass yields the allocation's scores.
struct DenseBlocksStrategy: PruneStrategy {
    private var resident: [DecoderBlock] = []
    private var statistics: [BlockStatistics] = []
    /// Its pass loads the resident blocks and their statistics: given scores do not replace it.
    let pruneNeedsPhaseOne = true

    mutating func scores(_ run: PruneRun, planOnly: Bool) throws -> BlockScores? {
        resident = try run.blockRange.map { try run.load($0) }
        let kinds: StatisticKinds = planOnly ? [] : run.configuration.statisticKinds
        statistics = try densePass(run, collecting: kinds)
        guard let scorer = run.configuration.blockScorer else { return nil }
        return .own(zip(resident, statistics).map { scorer.score(of: $0, statistics: $1) })
    }

    mutating func prune(_ run: PruneRun, plan: SparsityPlan, sink: (DecoderBlock) throws -> Void) throws {
        let progress = run.relay(phase: "prune", units: run.architecture.blockCount, tokensPerUnit: 0)
        for i in resident.indices {
            try run.prune(&resident[i], statistics: statistics[i], plan: plan)
            try sink(resident[i])
            try progress.finished(resident[i].index)
        }
        try progress.finish()
    }

    /// Dense statistics, window-major through the rank pipeline, all of this rank's blocks resident.
    private func densePass(_ run: PruneRun, collecting kinds: StatisticKinds) throws -> [BlockStatistics] {
        let blocks = resident
        var stats = blocks.map { BlockStatistics(shape: $0.shape, collecting: kinds) }
        let pipeline = Pipeline(comm: run.comm, rowsPerWindow: run.windows.length, width: run.width)
        let windows = run.windows.count, rope = run.rope
        // The last rank finishes each window; rank 0 shows them as they arrive.
        let progress = run.relay(phase: "statistics", unit: "window", units: windows, tokensPerUnit: run.windows.length)
        let timings = try pipeline.run(
            windows: windows,
            produce: { w in
                try progress.poll()
                return try run.embed(w)
            },
            process: { _, h in
                var x = h
                for (i, block) in blocks.enumerated() {
                    x = block.forward(x, rope: rope) { input, m in stats[i].add(input, window: m) }
                }
                return x
            },
            consume: { w, _ in try progress.finished(w) })
        try progress.finish()
        run.accumulate(timings)
        return stats
    }
}
