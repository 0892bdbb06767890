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
/// and the plan's hash is all-reduced as min and max to prove agreement. Phase 2 prunes.
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
    public internal(set) var times = PhaseTimes()
    public internal(set) var pipelineTimings = PipelineTimings()
    public internal(set) var outcomes: [LinearOutcome] = []
    /// Blocks taken from the resume journal instead of being pruned again.
    public internal(set) var resumedBlocks: [Int] = []
    public internal(set) var journal: BlockJournal?
    let source: any WeightSource
    let rope: RoPETable
    /// Block ranges and window shares of every rank, computed once.
    public let layout: RankLayout
    public let split: WorkSplit
    /// When the job was created (the origin of progress ETAs).
    let startedAt = Communicator.wallTime
    var resume = false
    /// The allocation's block scores from an earlier dense statistics pass over the same model and
    /// windows with the same `PruneConfiguration.blockScoreKey` (every rank the same vector); when
    /// set, the job skips that pass. `owlprune sweep` computes them once for its whole grid.
    public var precomputedBlockScores: [Double]?
    var journalCache: [Int: (weights: [BlockLinear: Matrix], outcomes: [LinearOutcome])?] = [:]
    let progress: (String) -> Void
    /// Called on every rank with the agreed plan, before phase 2 starts (the CLI shows it there).
    public var onPlan: ((SparsityPlan) -> Void)?
    /// Threads that run independent calibration windows of one block at once (results do not
    /// depend on it; see `Parallel`).
    public let threads: Int

    /// - Parameter windows: the same calibration windows on every rank (rank 0 broadcasts them).
    public init(comm: Communicator, configuration: PruneConfiguration, source: any WeightSource,
                architecture: Architecture, windows: CalibrationWindows, threads: Int = 1, split: WorkSplit? = nil,
                progress: @escaping (String) -> Void) throws {
        self.split = split ?? WorkSplit.defaultSplit(for: configuration.propagation)
        self.threads = max(1, threads)
        self.comm = comm
        self.configuration = configuration
        self.architecture = architecture
        self.windows = windows
        self.source = source
        self.progress = progress
        layout = try RankLayout(blocks: architecture.blockCount, parameterCountPerBlock: architecture.shape.parameterCount,
                                windows: windows.count, ranks: comm.size)
        blockRange = layout.blockRanges[comm.rank]
        rope = architecture.ropeTable(positions: windows.length)
    }

    private var isFirst: Bool { comm.rank == 0 }
    private var isLast: Bool { comm.rank == comm.size - 1 }
    var width: Int { architecture.shape.hiddenSize }

    /// Builds the agreed plan (phase 1 + plan) and prunes this rank's blocks (phase 2), handing
    /// each finished block to `sink` in block order.
    /// - Parameters:
    ///   - journalDirectory: where finished blocks are journaled (see `BlockJournal`); nil: no journal.
    ///   - resume: reuse the journal's finished blocks instead of clearing it.
    public func run(planOnly: Bool = false, journalDirectory: URL? = nil, resume: Bool = false,
                    sink: (DecoderBlock) throws -> Void = { _ in }) throws -> SparsityPlan {
        var t = Communicator.wallTime
        if split == .windows { return try runWindowParallel(planOnly: planOnly, journalDirectory: journalDirectory,
                                                             resume: resume, sink: sink) }
        let windowMajor = configuration.propagation == .dense && configuration.needsActivations
        var resident: [DecoderBlock] = []
        var statistics: [BlockStatistics]? = nil
        var ratios: [Double]? = nil
        if windowMajor {
            resident = try blockRange.map { try load($0) }
            let kinds: StatisticKinds = planOnly ? [] : configuration.statisticKinds
            let stats = try windowMajorPass(resident, collecting: kinds)
            statistics = stats
            if let scorer = configuration.blockScorer, precomputedBlockScores == nil {
                ratios = zip(resident, stats).map { scorer.score(of: $0, statistics: $1) }
            }
        } else if let scorer = configuration.blockScorer, precomputedBlockScores == nil {
            ratios = try blockMajorRatios(scorer: scorer)
        }
        if ratios == nil { ratios = try weightOnlyBlockValues() }
        times.statistics = Communicator.wallTime - t - times.load
        t = Communicator.wallTime
        let plan = try precomputedBlockScores.map { try agreePlan(localRatios: nil, allRatios: $0) }
            ?? agreePlan(localRatios: ratios)
        times.plan = Communicator.wallTime - t
        if planOnly { return plan }
        if let dir = journalDirectory { try openJournal(dir, plan: plan, resume: resume) }
        t = Communicator.wallTime
        let loadBefore = times.load
        if windowMajor {
            for i in resident.indices {
                try prune(&resident[i], statistics: statistics![i], plan: plan)
                try sink(resident[i])
            }
        } else if !configuration.needsActivations {
            // Magnitude pruning reads only the weights: no calibration pass at all.
            for index in blockRange {
                var block = try load(index)
                try prune(&block, statistics: BlockStatistics(shape: block.shape, collecting: []), plan: plan)
                try sink(block)
            }
        } else {
            try pruneSequentially(plan: plan, sink: sink)
        }
        times.prune = Communicator.wallTime - t - (times.load - loadBefore)
        return plan
    }

    // MARK: - Loading and inputs

    func load(_ index: Int) throws -> DecoderBlock {
        let t = Communicator.wallTime
        defer { times.load += Communicator.wallTime - t }
        return try DecoderBlock.load(index: index, shape: architecture.shape, from: source)
    }

    func embed(_ w: Int) throws -> Matrix {
        let ids = windows.window(w)
        if let bad = ids.first(where: { $0 < 0 || $0 >= architecture.vocabularySize }) {
            throw ModelError.tokenOutOfRange(id: bad, vocabulary: architecture.vocabularySize)
        }
        return try source.rows(ModelTensorName.embedding, ids)
    }

    /// The inputs of this rank's first block for every window: embeddings on rank 0, otherwise
    /// received from the previous rank (tags from `tagBase`).
    private func firstInputs(tagBase: Int) throws -> [Matrix] {
        if isFirst { return try (0..<windows.count).map(embed) }
        let t0 = Communicator.wallTime
        defer { pipelineTimings.idleSeconds += Communicator.wallTime - t0 }
        var requests: [Request] = []
        for w in 0..<windows.count {
            requests.append(try comm.irecv(count: windows.length * width, from: comm.rank - 1, tag: tagBase + w % 16_000))
        }
        return try requests.map { Matrix(rows: windows.length, cols: width, elements: try $0.wait()) }
    }

    /// Sends window outputs on as they are produced, at most two in flight.
    private struct Forwarder {
        let job: PruneJob
        let tagBase: Int
        var pending: [Request] = []

        mutating func send(_ w: Int, _ x: Matrix) throws {
            if pending.count == 2 { _ = try pending.removeFirst().wait() }
            pending.append(try job.comm.isend(x.elements, to: job.comm.rank + 1, tag: tagBase + w % 16_000))
            job.pipelineTimings.bytesSent += x.count * 4
        }

        mutating func drain() throws {
            let t = Communicator.wallTime
            for r in pending { _ = try r.wait() }
            pending = []
            job.pipelineTimings.idleSeconds += Communicator.wallTime - t
        }
    }

    // MARK: - Phase 1

    /// Dense statistics, window-major through the rank pipeline, all of this rank's blocks resident.
    private func windowMajorPass(_ blocks: [DecoderBlock], collecting kinds: StatisticKinds) throws -> [BlockStatistics] {
        var stats = blocks.map { BlockStatistics(shape: $0.shape, collecting: kinds) }
        let pipeline = Pipeline(comm: comm, rowsPerWindow: windows.length, width: width)
        let timings = try pipeline.run(
            windows: windows.count,
            produce: { w in
                progress("statistics: window \(w + 1)/\(windows.count) (dense pass)")
                return try embed(w)
            },
            process: { _, h in
                var x = h
                for (i, block) in blocks.enumerated() {
                    x = block.forward(x, rope: rope) { input, m in stats[i].add(input, window: m) }
                }
                return x
            },
            consume: { _, _ in })
        accumulate(timings)
        return stats
    }

    /// The allocation's block scores (OWL outlier ratios, DLP scores) from dense activations, block-major (one block resident at a time).
    private func blockMajorRatios(scorer: BlockScorer) throws -> [Double] {
        let start = Communicator.wallTime, idleBefore = pipelineTimings.idleSeconds
        defer { pipelineTimings.busySeconds += (Communicator.wallTime - start) - (pipelineTimings.idleSeconds - idleBefore) }
        var inputs = try firstInputs(tagBase: 0)
        var forwarder = Forwarder(job: self, tagBase: 0)
        var ratios: [Double] = []
        for index in blockRange {
            progress("statistics: block \(index + 1)/\(architecture.blockCount) (dense pass for OWL)")
            let block = try load(index)
            var stats = BlockStatistics(shape: block.shape, collecting: [])
            let lastOwn = index == blockRange.upperBound - 1
            let needOutputs = !(lastOwn && isLast), rope = self.rope
            for chunk in chunks(inputs.count) {
                let batch = chunk.map { inputs[$0] }
                let results = Parallel.map(batch.count, workers: threads) { k -> ([(LinearInput, Matrix)], Matrix?) in
                    var observed: [(LinearInput, Matrix)] = []
                    if needOutputs {
                        let out = block.forward(batch[k], rope: rope) { observed.append(($0, $1)) }
                        return (observed, out)
                    }
                    block.observeInputs(batch[k], rope: rope) { observed.append(($0, $1)) }
                    return (observed, nil)
                }
                for (w, (observed, output)) in zip(chunk, results) {
                    for (input, x) in observed { stats.add(input, window: x) }
                    if let output {
                        inputs[w] = output
                        if lastOwn { try forwarder.send(w, output) }
                    }
                }
            }
            ratios.append(scorer.score(of: block, statistics: stats))
        }
        try forwarder.drain()
        return ratios
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
        plan.windowsHash = windows.hash
        plan.modelID = configuration.modelID
        plan.seed = configuration.seed
        plan.settings = PlanSettings(method: configuration.method, options: configuration.options)
        let hash = try plan.stableHash()
        let low = try comm.allreduceMin([hash]), high = try comm.allreduceMax([hash])
        guard low == high else {
            throw ClusterError.disagreement(what: "the sparsity plan (hashes \(String(low[0], radix: 16)) … \(String(high[0], radix: 16)))")
        }
        onPlan?(plan)
        return plan
    }

    // MARK: - Phase 2

    /// Block i calibrated on the outputs of the already-pruned blocks before it (the references'
    /// order); the last block of a rank streams its pruned outputs to the next rank.
    private func pruneSequentially(plan: SparsityPlan, sink: (DecoderBlock) throws -> Void) throws {
        let start = Communicator.wallTime, idleBefore = pipelineTimings.idleSeconds
        defer { pipelineTimings.busySeconds += (Communicator.wallTime - start) - (pipelineTimings.idleSeconds - idleBefore) }
        var inputs = try firstInputs(tagBase: 16_000)
        var forwarder = Forwarder(job: self, tagBase: 16_000)
        for index in blockRange {
            progress("prune: block \(index + 1)/\(architecture.blockCount) (sequential)")
            var block = try load(index)
            var stats = BlockStatistics(shape: block.shape, collecting: configuration.statisticKinds)
            if journaled(index) == nil { try gatherStatistics(block, inputs: inputs, into: &stats) }
            try prune(&block, statistics: stats, plan: plan)
            try sink(block)
            let lastOwn = index == blockRange.upperBound - 1
            if lastOwn && isLast { break }  // nothing downstream needs the model's final hidden states
            let pruned = block, rope = self.rope
            for chunk in chunks(inputs.count) {
                let batch = chunk.map { inputs[$0] }
                let outputs = Parallel.map(batch.count, workers: threads) { pruned.forward(batch[$0], rope: rope) }
                for (w, output) in zip(chunk, outputs) {
                    inputs[w] = output
                    if lastOwn { try forwarder.send(w, output) }
                }
            }
        }
        try forwarder.drain()
    }

    /// Window index ranges of `threads` windows: a batch runs in parallel, then its results are
    /// used in window order, so statistics accumulate in exactly the serial order.
    func chunks(_ count: Int) -> [Range<Int>] {
        stride(from: 0, to: count, by: threads).map { $0..<min($0 + threads, count) }
    }

    /// The dense block's statistics over all windows (docs/algorithms.md §3: window order).
    private func gatherStatistics(_ block: DecoderBlock, inputs: [Matrix], into stats: inout BlockStatistics) throws {
        let rope = self.rope
        for chunk in chunks(inputs.count) {
            let batch = chunk.map { inputs[$0] }
            let kinds = stats.kinds
            let terms = Parallel.map(batch.count, workers: threads) { k -> BlockStatistics.Term in
                var observed: [(LinearInput, Matrix)] = []
                block.observeInputs(batch[k], rope: rope) { observed.append(($0, $1)) }
                return BlockStatistics.term(observed: observed, index: chunk.lowerBound + k, collecting: kinds)
            }
            // Terms were computed in parallel; folding them in window order is exactly `add`.
            for term in terms { stats.fold(term) }
        }
    }

    private func accumulate(_ t: PipelineTimings) {
        pipelineTimings.busySeconds += t.busySeconds
        pipelineTimings.idleSeconds += t.idleSeconds
        pipelineTimings.commSeconds += t.commSeconds
        pipelineTimings.bytesSent += t.bytesSent
    }

    public func recordWrite(seconds: Double) { times.write += seconds }
}
