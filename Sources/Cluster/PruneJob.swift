import Distribution
import Foundation
import MPIKit
import Model
import Pruning
import Tensor

/// What one linear ended up with, for the report.
public struct LinearOutcome: Sendable, Equatable {
    public var name: String
    public var plannedSparsity: Double
    public var prunedCount: Int
    public var rows: Int
    public var cols: Int
    public var total: Int { rows * cols }
    public var achievedSparsity: Double { Double(prunedCount) / Double(total) }
}

/// Seconds per phase on this rank.
public struct PhaseTimes: Sendable, Codable {
    public var load = 0.0, statistics = 0.0, plan = 0.0, prune = 0.0, write = 0.0
}

/// The distributed pruning run of docs/design.md §1 on the ranks of `comm`.
///
/// Phase 1 (statistics) runs when the plan needs outlier ratios (OWL) or propagation is dense.
/// Plan: the ratios are summed with one all-reduce (each rank fills only its blocks, zeros
/// elsewhere, so every rank gets the same bits), every rank builds the plan with the same code,
/// and the plan's hash is all-reduced as min and max to prove agreement. Phase 2 prunes. How the
/// phases are laid out over the ranks is a `PruneStrategy` (windows split, sequential blocks
/// split, dense blocks split); the job itself holds only fixed inputs, and each `run` returns its
/// `PruneResult`.
///
/// Memory. Sequential propagation works block-major: a rank holds the calibration activations
/// of all windows and **one** block in float32 at a time — load, gather statistics, prune, hand
/// to the sink (which writes it), propagate, release — so its peak memory is about one block plus
/// the activations, whatever its share of the model (issue 5: peak RSS below its blocks' bytes
/// × 1.3 plus activations). Its OWL statistics pass is block-major too. Dense propagation works
/// window-major instead, keeping all of the rank's blocks resident so windows pipeline across
/// ranks and every rank prunes at once: faster with more ranks, but memory is the rank's share.
public final class PruneJob {
    public let comm: Communicator
    public let configuration: PruneConfiguration
    public let architecture: Architecture
    public let blockRange: Range<Int>
    public let windows: CalibrationWindows
    let source: any WeightSource
    let rope: RoPETable
    /// Block ranges and window shares of every rank, computed once (the output's shards use it too).
    public let layout: RankLayout
    public let split: WorkSplit
    /// When the job was created (the origin of progress ETAs).
    let startedAt = Communicator.wallTime
    let progress: (String) -> Void
    /// Where rank 0's `JobProgress` lines go (a line that may be redrawn in place); `progress` if not given.
    let meter: (String) -> Void
    /// The allocation's block scores from an earlier dense statistics pass over the same model and
    /// windows with the same `PruneConfiguration.blockScoreKey` (every rank the same vector); when
    /// given, the job skips that pass (the dense split still runs its pass for the statistics it
    /// prunes with, and its own scores are replaced by the same bits). `owlprune sweep` computes
    /// them once for its whole grid.
    public let precomputedBlockScores: [Double]?
    /// `--remove-by`: the block removal that made this job's (reduced) model; recorded in the plan.
    public let blockRemoval: BlockRemovalResult?
    /// Phase 1's state between `makePlan` and `prune`: the run's times and the strategy, which
    /// may keep what phase 1 gathered (the dense split keeps its blocks and statistics).
    private var planned: (run: PruneRun, strategy: any PruneStrategy, plan: SparsityPlan)?
    /// `--remove-by streamline --replacement layer`: the training settings, recorded in the plan.
    public let streamlineTraining: StreamlineTrainingSettings?
    /// Threads that run independent calibration windows of one block at once (results do not
    /// depend on it; see `Parallel`).
    public let threads: Int
    /// Resident memory when the job was made: the baseline of the rank's memory bound.
    public let startResidentBytes = currentResidentBytes()

    /// - Parameter windows: the same calibration windows on every rank (rank 0 broadcasts them).
    public init(comm: Communicator, configuration: PruneConfiguration, source: any WeightSource,
                architecture: Architecture, windows: CalibrationWindows, threads: Int = 1, split: WorkSplit? = nil,
                precomputedBlockScores: [Double]? = nil, blockRemoval: BlockRemovalResult? = nil,
                streamlineTraining: StreamlineTrainingSettings? = nil,
                progress: @escaping (String) -> Void, meter: ((String) -> Void)? = nil) throws {
        self.precomputedBlockScores = precomputedBlockScores
        self.blockRemoval = blockRemoval
        self.streamlineTraining = streamlineTraining
        self.split = split ?? WorkSplit.defaultSplit(for: configuration.propagation)
        self.threads = max(1, threads)
        self.comm = comm
        self.configuration = configuration
        self.architecture = architecture
        self.windows = windows
        self.source = source
        self.progress = progress
        self.meter = meter ?? progress
        layout = try RankLayout(blocks: architecture.blockCount, parameterCountPerBlock: architecture.shape.parameterCount,
                                windows: windows.count, ranks: comm.size,
                                spreadsBlockWrites: self.split == .windows && configuration.needsActivations)
        blockRange = layout.blockRanges[comm.rank]
        rope = architecture.ropeTable(positions: windows.length)
    }

    /// Phase 1 and the plan: the allocation's scores, then the plan every rank agreed on (its hash
    /// all-reduced), returned for the caller to show before any block is pruned. The job keeps
    /// what phase 1 gathered for `prune`.
    /// - Parameter planOnly: only the plan is wanted (`plan`, `--dry-run`, a sweep's scores):
    ///   statistics for pruning need not be kept, and `prune` may not follow.
    public func makePlan(planOnly: Bool = false) throws -> SparsityPlan {
        let run = PruneRun(job: self)
        var strategy = makeStrategy()
        var t = Communicator.wallTime
        var scores: BlockScores?
        if let given = precomputedBlockScores, !strategy.pruneNeedsPhaseOne {
            scores = .all(given)
        } else {
            scores = try strategy.scores(run, planOnly: planOnly)
            if let given = precomputedBlockScores { scores = .all(given) }
        }
        // Data-free allocations (AlphaPruning) score each rank's own blocks from the weights alone.
        if scores == nil, let values = try weightOnlyBlockValues(run) { scores = .own(values) }
        run.times.statistics = Communicator.wallTime - t - run.times.load
        t = Communicator.wallTime
        let plan: SparsityPlan
        switch scores {
        case let .own(ratios): plan = try agreePlan(localRatios: ratios)
        case let .all(ratios): plan = try agreePlan(localRatios: nil, allRatios: ratios)
        case nil: plan = try agreePlan(localRatios: nil)
        }
        run.times.plan = Communicator.wallTime - t
        planned = planOnly ? nil : (run, strategy, plan)
        return plan
    }

    /// Phase 2 with the plan `makePlan` agreed (made first if it was not): prunes this rank's
    /// blocks, handing each finished block to `sink` in block order: on its owner, or on every
    /// rank when `layout.spreadsBlockWrites` (each then writes its share, as `PruneOutput` does).
    /// - Parameters:
    ///   - journalDirectory: where finished blocks are journaled (see `BlockJournal`); nil: no journal.
    ///   - resume: reuse the journal's finished blocks instead of clearing it.
    public func prune(journalDirectory: URL? = nil, resume: Bool = false,
                      sink: (DecoderBlock) throws -> Void = { _ in }) throws -> PruneResult {
        if planned == nil { _ = try makePlan() }
        guard var (run, strategy, plan) = planned else { preconditionFailure("makePlan keeps phase 1's state") }
        planned = nil
        if let dir = journalDirectory { try run.openJournal(dir, plan: plan, resume: resume) }
        let t = Communicator.wallTime
        let loadBefore = run.times.load
        try strategy.prune(run, plan: plan, sink: sink)
        run.times.prune = Communicator.wallTime - t - (run.times.load - loadBefore)
        return run.result(plan: plan)
    }

    /// - Parameters:
    ///   - localRatios: this rank's blocks' ratios (blocks split), summed into the full vector.
    ///   - allRatios: every block's ratio, already identical on every rank (windows split).
    func agreePlan(localRatios: [Double]?, allRatios: [Double]? = nil) throws -> SparsityPlan {
        let blocks = architecture.blockCount
        var ratios: [Double]? = allRatios
        if let local = localRatios {
            var mine = [Double](repeating: 0, count: blocks)
            for (offset, index) in blockRange.enumerated() { mine[index] = local[offset] }
            ratios = try comm.allreduceSum(mine)
        }
        var plan = try SparsityPlan.make(method: configuration.method, pattern: configuration.pattern,
                                         target: configuration.sparsity, allocation: configuration.allocation,
                                         blocks: blocks, outlierRatios: ratios,
                                         dsnot: configuration.options.dsnot != nil, dass: configuration.options.dass != nil)
        try configuration.overrides.apply(to: &plan)
        plan.applyDaSSScope(configuration.options.dass)
        plan.windowsHash = windows.hash
        plan.modelID = configuration.modelID
        plan.seed = configuration.seed
        plan.settings = PlanSettings(method: configuration.method, options: configuration.options)
        plan.blockRemoval = blockRemoval
        plan.streamlineTraining = streamlineTraining
        plan.settings?.propagation = configuration.propagation.rawValue
        plan.settings?.calibrationWindows = windows.count
        plan.settings?.calibrationLength = windows.length
        plan.settings?.atpBetaGrid = configuration.atpBetaGrid
        let hash = try plan.stableHash()
        let low = try comm.allreduceMin([hash]), high = try comm.allreduceMax([hash])
        guard low == high else {
            throw ClusterError.disagreement(what: "the sparsity plan (hashes \(String(low[0], radix: 16)) … \(String(high[0], radix: 16)))")
        }
        return plan
    }
}
