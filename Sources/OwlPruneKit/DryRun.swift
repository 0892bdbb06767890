import Checkpoint
import Cluster
import Distribution
import Foundation
import MPIKit
import Model
import Pruning
import Tensor

/// `prune --dry-run` and `plan`: the agreed plan plus what the run would cost on these ranks —
/// time from one measured calibration window per rank, memory from `MemoryBudget` (the bound the
/// report later checks) — then stop. docs/recipes.md "Dry run" states the time model.
package struct DryRun {
    package let setup: PruneSetup
    package let threads: Int?
    package let split: WorkSplit?

    package init(setup: PruneSetup, threads: Int?, split: WorkSplit?) {
        self.setup = setup
        self.threads = threads
        self.split = split
    }

    /// One rank's measurement on its first block and window 0: statistics pass (observe + terms),
    /// forward, and the seven linears' solve; seconds.
    package struct Measured: Codable { var observe: Double, forward: Double, solve: Double }

    package struct RankEstimate: Codable {
        package var rank: Int
        package var blocks: [Int]
        package var windows: Int
        package var memoryBoundBytes: Int
        package var seconds: Double
        package var measured: Measured
    }

    package struct Estimate: Codable {
        package var ranks: Int
        package var split: String
        package var propagation: String
        package var threadsPerRank: Int
        package var calibrationWindows: Int
        package var seqlen: Int
        package var wallSeconds: Double
        package var perRank: [RankEstimate]
        package var warnings: [String]
    }

    package func measure(job: PruneJob) throws -> Measured {
        let c = setup.configuration, arch = setup.architecture
        let index = job.split == .windows ? 0 : job.blockRange.lowerBound
        var block = try DecoderBlock.load(index: index, shape: arch.shape, from: setup.checkpoint)
        let rope = arch.ropeTable(positions: setup.windows.length)
        // The embedding of window 0 stands in for the block's input: same shape, same cost.
        let input = try setup.checkpoint.rows(ModelTensorName.embedding, setup.windows.window(0))
        var stats = BlockStatistics(shape: block.shape, collecting: requiredStatistics(method: c.method, options: c.options))
        var t = Communicator.wallTime
        var observed: [(LinearInput, Matrix)] = []
        block.observeInputs(input, rope: rope) { observed.append(($0, $1)) }
        stats.fold(BlockStatistics.term(observed: observed, index: 0, collecting: requiredStatistics(method: c.method, options: c.options)))
        let observe = Communicator.wallTime - t
        t = Communicator.wallTime
        _ = block.forward(input, rope: rope)
        let forward = Communicator.wallTime - t
        t = Communicator.wallTime
        // The solve as the run does it: the block's linears over the job's threads (`BlockSolve`).
        let sparsity = c.pattern.fixedSparsity ?? c.sparsity
        if sparsity > 0 {
            let plan = try SparsityPlan.make(method: c.method, pattern: c.pattern, target: sparsity, allocation: .uniform,
                                             blocks: index + 1)
            for (linear, solved) in zip(BlockLinear.allCases, try BlockSolve(configuration: c, threads: job.threads)
                .prune(BlockLinear.allCases, of: block, statistics: stats, plan: plan, checkZeroing: true)) {
                block.weights[linear] = solved.pruned.weight
            }
        }
        return Measured(observe: observe, forward: forward, solve: Communicator.wallTime - t)
    }

    package func estimate(job: PruneJob) throws -> Estimate {
        let comm = setup.comm, c = setup.configuration
        let mine = try measure(job: job)
        // Every rank's measurement, in rank order, on every rank.
        var slots = [Double](repeating: 0, count: 3 * comm.size)
        slots[3 * comm.rank] = mine.observe
        slots[3 * comm.rank + 1] = mine.forward
        slots[3 * comm.rank + 2] = mine.solve
        let all = try comm.allreduceSum(slots)
        let layout = job.layout, windows = setup.windows.count, blocks = setup.architecture.blockCount
        let scorePass = c.allocation.needsBlockScores ? 1.0 : 0.0
        var perRank: [RankEstimate] = []
        for r in 0..<comm.size {
            let m = Measured(observe: all[3 * r], forward: all[3 * r + 1], solve: all[3 * r + 2])
            let threads = Double(job.threads)
            let held = job.split == .windows ? layout.windowShares[r].count : windows
            let seconds: Double
            if job.split == .windows {
                // Every block, this rank's windows; the seven solves are spread over the ranks.
                let perWindow = (1 + scorePass) * m.observe + m.forward
                seconds = Double(blocks) * (Double(held) * perWindow / threads + m.solve / Double(min(comm.size, 7)))
            } else {
                let perWindow = (1 + scorePass) * m.observe + (1 + scorePass) * m.forward
                seconds = Double(layout.blockRanges[r].count) * (Double(windows) * perWindow / threads + m.solve)
            }
            let budget = try MemoryBudget(blocks: layout.blockRanges[r], checkpoint: setup.checkpoint, shape: setup.architecture.shape,
                                          windows: held, length: setup.windows.length, threads: job.threads,
                                          statistics: requiredStatistics(method: c.method, options: c.options),
                                          heldTermWindows: job.split == .windows && r > 0 ? held : 0,
                                          baselineBytes: job.startResidentBytes)
            perRank.append(RankEstimate(rank: r, blocks: [layout.blockRanges[r].lowerBound, layout.blockRanges[r].upperBound],
                                        windows: held, memoryBoundBytes: budget.boundBytes, seconds: seconds, measured: m))
        }
        // Sequential propagation over the blocks split: ranks take turns, so their times add up.
        let takesTurns = job.split == .blocks && c.propagation == .sequential
        let wall = takesTurns ? perRank.reduce(0) { $0 + $1.seconds } : (perRank.map(\.seconds).max() ?? 0)
        return Estimate(ranks: comm.size, split: job.split.rawValue, propagation: c.propagation.rawValue,
                        threadsPerRank: job.threads, calibrationWindows: windows, seqlen: setup.windows.length,
                        wallSeconds: wall, perRank: perRank, warnings: [])
    }

    package struct Output: Codable { package var plan: SparsityPlan; package var estimate: Estimate }

    /// Computes the plan and the estimate; rank 0 shows the plan table and every warning on
    /// stderr and returns them (nil elsewhere).
    package func run(memory: MemoryOptions?) throws -> Output? {
        let comm = setup.comm
        let job = try setup.makeJob(threads: threads, split: split)
        var warnings: [String] = []
        do {
            try MemoryCheck.checkPrune(architecture: setup.architecture, checkpoint: setup.checkpoint, comm: comm,
                                       nsamples: setup.windows.count, seqlen: setup.windows.length, threads: job.threads,
                                       statistics: requiredStatistics(method: setup.configuration.method, options: setup.configuration.options), maxMemory: memory?.maxMemoryBytes)
        } catch let error as MemoryError {
            warnings.append("warning: memory budget exceeded: \(error.localizedDescription)")
        }
        let plan = try job.makePlan(planOnly: true)
        var estimate = try estimate(job: job)
        warnings = PruneWarnings.of(plan: plan) + warnings
        estimate.warnings = warnings
        guard comm.rank == 0 else { return nil }
        setup.events(.plan(plan))
        warnings.forEach { setup.events(.warning($0)) }
        return Output(plan: plan, estimate: estimate)
    }

    package static func json(_ output: Output) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: try encoder.encode(output), as: UTF8.self)
    }

    package static func render(_ e: Estimate) -> String {
        var lines = [String(format: "estimate for %d rank%@ (%@ split, %@ propagation, %d threads/rank), %d windows × %d tokens:",
                            e.ranks, e.ranks == 1 ? "" : "s", e.split, e.propagation, e.threadsPerRank, e.calibrationWindows, e.seqlen),
                     "rank  blocks     windows  memory      time"]
        for r in e.perRank {
            lines.append(String(format: "%4d  %3d–%-3d  %8d  %10@  %8.1f s", r.rank, r.blocks[0], r.blocks[1] - 1, r.windows,
                                MemoryCheck.format(bytes: Double(r.memoryBoundBytes)), r.seconds))
        }
        lines.append(String(format: "total ≈ %.1f s (from one measured window per rank; reads, writes and communication not included)",
                            e.wallSeconds))
        return lines.joined(separator: "\n")
    }
}
