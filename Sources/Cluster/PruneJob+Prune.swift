import Distribution
import Foundation
import MPIKit
import Model
import Pruning
import Tensor

/// Phase 2 of a `PruneJob` run for one block: take it from the resume journal if it is there,
/// otherwise prune its seven linears with the plan's sparsities and journal the result.
extension PruneRun {
    func openJournal(_ dir: URL, plan: SparsityPlan, resume: Bool) throws {
        let t = Communicator.wallTime
        defer { pipelineTimings.journalSeconds += Communicator.wallTime - t }
        self.resume = resume
        if comm.rank == 0 {
            let fm = FileManager.default
            if !resume && fm.fileExists(atPath: dir.path) { try fm.removeItem(at: dir) }
            try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        }
        try comm.barrier()
        journal = BlockJournal(directory: dir, planHash: try plan.stableHash())
    }

    /// Whether any block may come from the journal, the same answer on every rank (rank 0 looks).
    /// A fresh run has no marker, and the windows split then skips its per-block agreement on
    /// resuming: one synchronisation fewer per block for every rank to wait at.
    func journalMayHaveBlocks() throws -> Bool {
        guard resume, let journal else { return false }
        var any: [UInt8] = [comm.rank == 0 && journal.hasBlockMarkers ? 1 : 0]
        if comm.size > 1 { try comm.broadcast(&any, root: 0) }
        return any[0] == 1
    }

    /// Block `index`'s journaled result, read (and checksummed) once.
    /// - Parameter dense: the block as loaded, unpruned (the journal rebuilds zeroing linears from it).
    func journaled(_ index: Int, dense: DecoderBlock) -> (weights: [BlockLinear: Matrix], outcomes: [LinearOutcome])? {
        guard resume, let journal else { return nil }
        if let cached = journalCache[index] { return cached }
        let found = journal.finished(block: index, dense: dense)
        journalCache[index] = .some(found)
        return found
    }

    func prune(_ block: inout DecoderBlock, statistics: BlockStatistics, plan: SparsityPlan) throws {
        if let done = journaled(block.index, dense: block) {
            block.weights = done.weights
            outcomes += done.outcomes
            resumedBlocks.append(block.index)
            journalCache[block.index] = nil
            return
        }
        let first = outcomes.count
        let t = Date()
        let zeroing = try solve(&block, statistics: statistics, plan: plan)
        pipelineTimings.solveSeconds += Date().timeIntervalSince(t)
        if let journal {
            let j = Communicator.wallTime
            defer { pipelineTimings.journalSeconds += Communicator.wallTime - j }
            try journal.record(block, zeroing: zeroing, outcomes: Array(outcomes[first...]), threads: threads)
            FaultInjection.point("journaled block \(block.index)", rank: comm.rank)
        }
    }

    /// Returns the linears whose pruned weight only zeroes entries of the dense one (journaled as bits).
    /// The seven linears are solved over the job's threads (`BlockSolve`).
    private func solve(_ block: inout DecoderBlock, statistics: BlockStatistics, plan: SparsityPlan) throws -> Set<BlockLinear> {
        let linears = BlockLinear.allCases
        let solved = try BlockSolve(configuration: configuration, threads: threads)
            .prune(linears, of: block, statistics: statistics, plan: plan, checkZeroing: journal != nil)
        var zeroing: Set<BlockLinear> = []
        for (linear, result) in zip(linears, solved) {
            let weight = block.weight(linear)
            if result.zeroing { zeroing.insert(linear) }
            block.weights[linear] = result.pruned.weight
            outcomes.append(LinearOutcome(name: linear.weightName(block: block.index),
                                          plannedSparsity: plan.sparsity(block: block.index, kind: linear.kind),
                                          prunedCount: result.pruned.prunedCount, rows: weight.rows, cols: weight.cols))
        }
        return zeroing
    }
}
