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

/// The distributed pruning run of DESIGN.md §1 on the ranks of `comm`.
///
/// Phase 1 (statistics): if the plan needs outlier ratios (OWL), or propagation is dense, the
/// dense model streams the calibration windows through the pipeline and each rank accumulates
/// its blocks' statistics. Plan: the ratios are summed with one all-reduce (each rank fills only
/// its blocks, zeros elsewhere, so every rank gets the same bits), every rank builds the plan
/// with the same code, and the plan's hash is all-reduced as min and max to prove agreement.
/// Phase 2 (prune): dense mode prunes every block from its phase-1 statistics at once; sequential
/// mode calibrates block i on the outputs of pruned blocks 0…i−1, streaming the pruned activations
/// to the next rank as the last block of a rank produces them.
public final class PruneJob {
    public let comm: Communicator
    public let configuration: PruneConfiguration
    public private(set) var slice: ModelSlice
    public let windows: CalibrationWindows
    public private(set) var times = PhaseTimes()
    public private(set) var pipelineTimings = PipelineTimings()
    public private(set) var outcomes: [LinearOutcome] = []
    /// Blocks taken from the resume journal instead of being pruned again.
    public private(set) var resumedBlocks: [Int] = []
    public private(set) var journal: BlockJournal?
    private var resume = false
    private var journalCache: [Int: (weights: [BlockLinear: Matrix], outcomes: [LinearOutcome])?] = [:]
    private let progress: (String) -> Void

    /// - Parameter windows: the same calibration windows on every rank (rank 0 broadcasts them).
    public init(comm: Communicator, configuration: PruneConfiguration, source: some WeightSource,
                architecture: Architecture, windows: CalibrationWindows, progress: @escaping (String) -> Void) throws {
        self.comm = comm
        self.configuration = configuration
        self.windows = windows
        self.progress = progress
        let t0 = Communicator.wallTime
        let ranges = try partition(parameterCounts: Array(repeating: architecture.shape.parameterCount,
                                                          count: architecture.blockCount), ranks: comm.size)
        slice = try ModelSlice.load(from: source, architecture: architecture, blocks: ranges[comm.rank],
                                    withEmbedding: comm.rank == 0, withHead: false, positions: windows.length)
        times.load = Communicator.wallTime - t0
    }

    private var isFirst: Bool { comm.rank == 0 }
    private var isLast: Bool { comm.rank == comm.size - 1 }
    private var width: Int { slice.architecture.shape.hiddenSize }

    /// Builds the agreed plan (phase 1 + plan) and prunes this rank's blocks (phase 2).
    /// - Parameters:
    ///   - journalDirectory: where finished blocks are journaled (see `BlockJournal`); nil: no journal.
    ///   - resume: reuse the journal's finished blocks instead of clearing it.
    public func run(planOnly: Bool = false, journalDirectory: URL? = nil, resume: Bool = false) throws -> SparsityPlan {
        var t = Communicator.wallTime
        var denseStatistics: [BlockStatistics]? = nil
        if (configuration.propagation == .dense && configuration.needsActivations) || configuration.needsOutlierRatios {
            let kinds: StatisticKinds = configuration.propagation == .dense && !planOnly ? configuration.statisticKinds : []
            denseStatistics = try densePass(collecting: kinds)
        }
        times.statistics = Communicator.wallTime - t
        t = Communicator.wallTime
        let plan = try agreePlan(statistics: denseStatistics)
        times.plan = Communicator.wallTime - t
        if planOnly { return plan }
        if let dir = journalDirectory { try openJournal(dir, plan: plan, resume: resume) }
        t = Communicator.wallTime
        if !configuration.needsActivations {
            // Magnitude pruning reads only the weights: no calibration pass at all.
            let none = slice.blocks.map { BlockStatistics(shape: $0.shape, collecting: []) }
            try pruneAll(with: none, plan: plan)
        } else {
            switch configuration.propagation {
            case .dense: try pruneAll(with: denseStatistics!, plan: plan)
            case .sequential: try pruneSequentially(plan: plan)
            }
        }
        times.prune = Communicator.wallTime - t
        return plan
    }

    // MARK: - Phase 1

    private func densePass(collecting kinds: StatisticKinds) throws -> [BlockStatistics] {
        var stats = slice.blocks.map { BlockStatistics(shape: $0.shape, collecting: kinds) }
        let first = slice.blockRange.lowerBound
        let pipeline = Pipeline(comm: comm, rowsPerWindow: windows.length, width: width)
        let timings = try pipeline.run(
            windows: windows.count,
            produce: { w in
                progress("statistics: window \(w + 1)/\(windows.count) (dense pass)")
                return try slice.embedding!(windows.window(w))
            },
            process: { _, h in
                slice.forward(h) { block, input, x in stats[block - first].add(input, window: x) }
            },
            consume: { _, _ in })
        accumulate(timings)
        return stats
    }

    private func agreePlan(statistics: [BlockStatistics]?) throws -> SparsityPlan {
        let blocks = slice.architecture.blockCount
        var ratios: [Double]? = nil
        if let m = configuration.owlM, let stats = statistics {
            var mine = [Double](repeating: 0, count: blocks)
            for (i, block) in slice.blocks.enumerated() {
                mine[block.index] = outlierRatio(of: block, statistics: stats[i], m: m)
            }
            ratios = try comm.allreduceSum(mine)
        }
        var plan = try SparsityPlan.make(method: configuration.method, pattern: configuration.pattern,
                                         target: configuration.sparsity, allocation: configuration.allocation,
                                         blocks: blocks, outlierRatios: ratios,
                                         dsnot: configuration.options.dsnot != nil, dass: configuration.options.dass != nil)
        plan.windowsHash = windows.hash
        plan.modelID = configuration.modelID
        plan.seed = configuration.seed
        let hash = try plan.stableHash()
        let low = try comm.allreduceMin([hash]), high = try comm.allreduceMax([hash])
        guard low == high else {
            throw ClusterError.disagreement(what: "the sparsity plan (hashes \(String(low[0], radix: 16)) … \(String(high[0], radix: 16)))")
        }
        return plan
    }

    // MARK: - Phase 2

    private func pruneAll(with statistics: [BlockStatistics], plan: SparsityPlan) throws {
        let start = Communicator.wallTime
        defer { pipelineTimings.busySeconds += Communicator.wallTime - start }
        for i in slice.blocks.indices {
            try prune(blockAt: i, statistics: statistics[i], plan: plan)
        }
    }

    private func pruneSequentially(plan: SparsityPlan) throws {
        let n = windows.count
        var inputs: [Matrix] = []
        inputs.reserveCapacity(n)
        let start = Communicator.wallTime, idleBefore = pipelineTimings.idleSeconds
        defer {
            pipelineTimings.busySeconds += (Communicator.wallTime - start) - (pipelineTimings.idleSeconds - idleBefore)
        }
        let t0 = Communicator.wallTime
        if isFirst {
            for w in 0..<n { inputs.append(try slice.embedding!(windows.window(w))) }
        } else {
            for w in 0..<n {
                let data = try comm.recv(count: windows.length * width, from: comm.rank - 1, tag: w % 32_000)
                inputs.append(Matrix(rows: windows.length, cols: width, elements: data))
            }
        }
        pipelineTimings.idleSeconds += Communicator.wallTime - t0
        var sends: [Request] = []
        for i in slice.blocks.indices {
            let block = slice.blocks[i]
            progress("prune: block \(block.index + 1)/\(slice.architecture.blockCount) (sequential)")
            var stats = BlockStatistics(shape: block.shape, collecting: configuration.statisticKinds)
            if journaled(i) == nil {
                for x in inputs {
                    block.observeInputs(x, rope: slice.rope) { input, m in stats.add(input, window: m) }
                }
            }
            try prune(blockAt: i, statistics: stats, plan: plan)
            let lastOwn = i == slice.blocks.count - 1
            if lastOwn && isLast { break }  // nothing downstream needs the model's final hidden states
            for w in 0..<n {
                inputs[w] = slice.blocks[i].forward(inputs[w], rope: slice.rope)
                if lastOwn {
                    if sends.count == 2 { _ = try sends.removeFirst().wait() }
                    sends.append(try comm.isend(inputs[w].elements, to: comm.rank + 1, tag: w % 32_000))
                    pipelineTimings.bytesSent += inputs[w].count * 4
                }
            }
        }
        let t1 = Communicator.wallTime
        for s in sends { _ = try s.wait() }
        pipelineTimings.idleSeconds += Communicator.wallTime - t1
    }

    private func openJournal(_ dir: URL, plan: SparsityPlan, resume: Bool) throws {
        self.resume = resume
        if comm.rank == 0 {
            let fm = FileManager.default
            if !resume && fm.fileExists(atPath: dir.path) { try fm.removeItem(at: dir) }
            try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        }
        try comm.barrier()
        journal = BlockJournal(directory: dir, planHash: try plan.stableHash())
    }

    /// Block i's journaled result, read (and checksummed) once.
    private func journaled(_ i: Int) -> (weights: [BlockLinear: Matrix], outcomes: [LinearOutcome])? {
        guard resume, let journal else { return nil }
        if let cached = journalCache[i] { return cached }
        let found = journal.finished(block: slice.blocks[i].index)
        journalCache[i] = .some(found)
        return found
    }

    private func prune(blockAt i: Int, statistics: BlockStatistics, plan: SparsityPlan) throws {
        if let done = journaled(i) {
            slice.blocks[i].weights = done.weights
            outcomes += done.outcomes
            resumedBlocks.append(slice.blocks[i].index)
            return
        }
        let first = outcomes.count
        try solve(blockAt: i, statistics: statistics, plan: plan)
        if let journal {
            try journal.record(slice.blocks[i], outcomes: Array(outcomes[first...]))
            injectFaultIfRequested(afterBlock: slice.blocks[i].index)
        }
    }

    /// Test hook for the resume tests: `OWLPRUNE_FAULT_KILL_AFTER_BLOCK=b` makes the rank that
    /// journals block b kill itself with SIGKILL, like an OOM kill or a lost node would.
    private func injectFaultIfRequested(afterBlock index: Int) {
        if let value = ProcessInfo.processInfo.environment["OWLPRUNE_FAULT_KILL_AFTER_BLOCK"], Int(value) == index {
            kill(getpid(), SIGKILL)
        }
    }

    private func solve(blockAt i: Int, statistics: BlockStatistics, plan: SparsityPlan) throws {
        let block = slice.blocks[i]
        let down = statistics.statistics(for: .down).wanda
        for linear in BlockLinear.allCases {
            let weight = block.weight(linear)
            let sparsity = plan.sparsity(block: block.index, kind: linear.kind)
            let result = try pruneLinear(weight: weight, id: LinearID(block: block.index, kind: linear.kind),
                                         statistics: statistics.statistics(for: linear), intermediate: down,
                                         method: configuration.method, sparsity: sparsity,
                                         pattern: configuration.pattern, options: configuration.options)
            slice.blocks[i].weights[linear] = result.weight
            outcomes.append(LinearOutcome(name: linear.weightName(block: block.index), plannedSparsity: sparsity,
                                          prunedCount: result.prunedCount, rows: weight.rows, cols: weight.cols))
        }
    }

    private func accumulate(_ t: PipelineTimings) {
        pipelineTimings.busySeconds += t.busySeconds
        pipelineTimings.idleSeconds += t.idleSeconds
        pipelineTimings.bytesSent += t.bytesSent
    }

    public func recordWrite(seconds: Double) { times.write = seconds }
}
