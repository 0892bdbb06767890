import Distribution
import Foundation
import MPIKit
import Model
import Pruning
import Tensor

/// The windows split (docs/design.md §3): every rank works on the current block at once, each on its
/// own contiguous share of the calibration windows, holding only those windows' hidden states.
///
/// Per block: every rank gets the block's weights; computes its windows' statistic terms; the
/// terms are combined by `WindowOrderChain` into statistics bit-identical to one rank's; the
/// seven linears are pruned by the ranks in parallel (`LinearAssignment`; plain SparseGPT by rows,
/// `RowSplitSparseGPT`) and every pruned linear is shared, since every rank needs the pruned block to propagate; the block's owner
/// (the same rank as in the blocks split) records outcomes, journals the block and hands it to
/// the sink, which writes its shard; every rank propagates its own windows. OWL's phase 1 is the
/// same loop on the dense model, collecting only Wanda's norms.
struct WindowsSplitStrategy: PruneStrategy {
    mutating func scores(_ run: PruneRun, planOnly: Bool) throws -> BlockScores? {
        guard let scorer = run.configuration.blockScorer else { return nil }
        return .own(try windowParallelPass(run, plan: nil, scorer: scorer, sink: { _ in }))
    }

    mutating func prune(_ run: PruneRun, plan: SparsityPlan, sink: (DecoderBlock) throws -> Void) throws {
        if run.configuration.needsActivations {
            _ = try windowParallelPass(run, plan: plan, scorer: nil, sink: sink)
        } else {
            try run.pruneWeightsOnly(plan: plan, sink: sink)
        }
    }

    /// How block weights reach every rank. Measured on SmolLM2-135M (bf16, 30 blocks, 2 ranks on
    /// one 2-vCPU host, Wanda, 2 windows × 32 so that moving weights dominates; 2026-12-01, two runs
    /// each): `read` — every rank reads and converts every block — cost each rank 0.33–0.98 s of
    /// load and 1.4–2.1 s of communication (7 MB sent per rank: statistics chain and pruned
    /// masks); `broadcast` — the owner reads, 219 MB of float32 weights broadcast — cost
    /// 0.18–0.26 s of load but 5.5–6.0 s of communication. Reading is the default: the bf16→f32
    /// conversion (~10 ms a block) is cheaper than moving twice the bytes in float32, every rank
    /// converts in parallel, and a cluster's shared filesystem (or one node's page cache) serves
    /// the same bytes to all ranks. `OWLPRUNE_BLOCK_WEIGHTS=broadcast` is for nodes that do not
    /// share the checkpoint's filesystem.
    static var weightTransport: BlockWeightTransport {
        ProcessInfo.processInfo.environment["OWLPRUNE_BLOCK_WEIGHTS"].flatMap(BlockWeightTransport.init(rawValue:)) ?? .read
    }

    /// One block-major pass over all blocks with this rank's windows.
    /// - `plan == nil`: the dense statistics pass; returns the scores (OWL outlier ratio, DLP score)
    ///   of this rank's own blocks. Every rank holds every block and its statistics, but scoring is
    ///   a pass over all the block's weights (0.25 s of a SmolLM2 run), so only the owner scores a
    ///   block and the plan's all-reduce gathers the vector, exactly (each slot has one writer).
    /// - otherwise: phase 2; blocks are pruned, and the next block's inputs come from the pruned
    ///   block (sequential propagation) or the dense one (dense propagation).
    private func windowParallelPass(_ run: PruneRun, plan: SparsityPlan?, scorer: BlockScorer?, sink: (DecoderBlock) throws -> Void) throws -> [Double] {
        let start = Communicator.wallTime
        let before = run.pipelineTimings
        defer {
            let idle = run.pipelineTimings.idleSeconds - before.idleSeconds, moving = run.pipelineTimings.commSeconds - before.commSeconds
            run.pipelineTimings.busySeconds += (Communicator.wallTime - start) - idle - moving
        }
        let blocks = run.architecture.blockCount
        let phase = plan == nil ? "statistics" : "prune"
        let passes = run.configuration.blockScorer == nil ? 1 : 2
        // Rank 0 works on every block, so its own count is the job's: nothing to relay.
        let meter = JobProgress(phase: phase, units: blocks, windows: run.windows.count,
                                tokensPerUnit: run.windows.count * run.windows.length, passes: passes,
                                pass: plan == nil ? 0 : passes - 1, started: run.startedAt,
                                report: run.comm.rank == 0 ? run.job.meter : { _ in })
        let embedStart = Communicator.wallTime
        var inputs = try run.myWindows.map(run.embed)
        run.times.load += Communicator.wallTime - embedStart
        var ratios: [Double] = []
        let kinds: StatisticKinds = plan == nil ? [] : run.configuration.statisticKinds
        let densePropagation = plan == nil || run.configuration.propagation == .dense
        let mayResume = try plan != nil && run.journalMayHaveBlocks()
        var prefetched: DecoderBlock? = nil
        for index in 0..<blocks {
            let owner = run.layout.owner(ofBlock: index)
            var block: DecoderBlock
            if let ready = prefetched {
                block = ready
                prefetched = nil
            } else {
                block = try blockOnEveryRank(run, index, owner: owner)
            }
            let needOutputs = index < blocks - 1
            var next: [Matrix]? = nil
            var pruned: PrunedRecord? = nil
            var resumed = [UInt8(0)]
            if mayResume {
                if run.comm.rank == owner, run.journaled(index, dense: block) != nil { resumed[0] = 1 }
                try run.comm.broadcast(&resumed, root: owner)
            }
            if resumed[0] == 1 {
                if densePropagation && needOutputs { next = forward(run, block, inputs) }
                if run.comm.rank == owner {
                    try run.prune(&block, statistics: BlockStatistics(shape: block.shape, collecting: []), plan: plan!)
                }
                try broadcastLinears(run, &block, from: { _ in owner })
            } else {
                var stats = BlockStatistics(shape: block.shape, collecting: kinds)
                next = try windowTerms(run, block, inputs: inputs, kinds: kinds, outputs: densePropagation && needOutputs, into: &stats)
                if let scorer, run.comm.rank == owner {
                    let t = Communicator.wallTime
                    ratios.append(scorer.score(of: block, statistics: stats))
                    run.pipelineTimings.scoreSeconds += Communicator.wallTime - t
                }
                if let plan { pruned = try pruneSpread(run, &block, statistics: stats, plan: plan) }
            }
            // What this thread does with the finished block that the next forward does not need:
            // journal it, write it, and read the next block's weights. It runs alongside the
            // pruned block's forward when there is one (`forwardAlongside`): the forward is on
            // other threads, and MPI (the journal's all-reduce) stays on this one.
            let writes = plan != nil && (run.layout.spreadsBlockWrites || run.comm.rank == owner)
            let prefetch = index + 1 < blocks && Self.prefetches(run)
            let finished = block
            func sideWork() throws {
                if let pruned { try recordPruned(run, finished, pruned, owner: owner) }
                if writes { try sink(finished) }
                if prefetch { prefetched = try run.load(index + 1) }
            }
            if needOutputs, next == nil {
                inputs = try forwardAlongside(run, block, inputs, sideWork)
            } else {
                try sideWork()
                if needOutputs { inputs = next! }
            }
            // The fault suite's phase points, as in the blocks split (`ProgressRelay.finished`).
            FaultInjection.point("\(meter.phase): \(meter.unit) \(index + 1)", rank: run.comm.rank)
            meter.finished(index)
        }
        return ratios
    }

    /// The block's weights on every rank, read by each or broadcast by the owner (`Self.weightTransport`).
    private func blockOnEveryRank(_ run: PruneRun, _ index: Int, owner: Int) throws -> DecoderBlock {
        if Self.weightTransport == .read || run.comm.size == 1 { return try run.load(index) }
        var block: DecoderBlock
        if run.comm.rank == owner {
            block = try run.load(index)
        } else {
            let shape = run.architecture.shape
            var weights: [BlockLinear: Matrix] = [:]
            for l in BlockLinear.allCases { weights[l] = Matrix(rows: shape.weightShape(l).rows, cols: shape.weightShape(l).cols) }
            let zero = [Float](repeating: 0, count: shape.hiddenSize)
            block = DecoderBlock(index: index, shape: shape, weights: weights, inputNorm: zero, postAttentionNorm: zero)
        }
        let t = Communicator.wallTime
        try run.comm.broadcast(&block.inputNorm, root: owner)
        try run.comm.broadcast(&block.postAttentionNorm, root: owner)
        run.pipelineTimings.commSeconds += Communicator.wallTime - t
        try broadcastLinears(run, &block, from: { _ in owner })
        return block
    }

    /// Broadcasts each linear from the rank `root(linear)` to all.
    private func broadcastLinears(_ run: PruneRun, _ block: inout DecoderBlock, from root: (BlockLinear) -> Int) throws {
        let t = Communicator.wallTime
        for linear in BlockLinear.allCases {
            var m = block.weights.removeValue(forKey: linear)!
            try run.comm.broadcast(&m.elements, root: root(linear))
            if root(linear) == run.comm.rank { run.pipelineTimings.bytesSent += m.count * 4 * (run.comm.size - 1) }
            block.weights[linear] = m
        }
        run.pipelineTimings.commSeconds += Communicator.wallTime - t
    }

    /// This rank's run.windows through `block`: statistic terms (and, if asked, the block's outputs)
    /// in parallel over run.threads, then the window-order chain over ranks.
    private func windowTerms(_ run: PruneRun, _ block: DecoderBlock, inputs: [Matrix], kinds: StatisticKinds, outputs: Bool,
                             into stats: inout BlockStatistics) throws -> [Matrix]? {
        let rope = run.rope, first = run.myWindows.lowerBound
        var terms: [BlockStatistics.Term] = []
        var next: [Matrix] = []
        let computeStart = Communicator.wallTime
        for chunk in run.chunks(inputs.count) {
            let results = Parallel.map(chunk.count, workers: run.threads) { k -> (BlockStatistics.Term, Matrix?) in
                let w = chunk.lowerBound + k
                var observed: [(LinearInput, Matrix)] = []
                var out: Matrix? = nil
                if outputs {
                    out = block.forward(inputs[w], rope: rope) { observed.append(($0, $1)) }
                } else {
                    block.observeInputs(inputs[w], rope: rope) { observed.append(($0, $1)) }
                }
                return (BlockStatistics.term(observed: observed, index: first + w, collecting: kinds), out)
            }
            for (term, out) in results {
                terms.append(term)
                if let out { next.append(out) }
            }
        }
        let chain = WindowOrderChain(comm: run.comm, length: run.windows.length)
        let before = run.pipelineTimings
        try chain.combine(&stats, terms: terms, firstWindow: first, totalWindows: run.windows.count, timings: &run.pipelineTimings)
        // The chain's own folding of the terms is statistic work; its sends and waits are not.
        run.pipelineTimings.computeSeconds += Communicator.wallTime - computeStart
            - (run.pipelineTimings.commSeconds - before.commSeconds) - (run.pipelineTimings.idleSeconds - before.idleSeconds)
        return outputs ? next : nil
    }

    private func forward(_ run: PruneRun, _ block: DecoderBlock, _ inputs: [Matrix]) -> [Matrix] {
        let rope = run.rope, t = Communicator.wallTime
        defer { run.pipelineTimings.computeSeconds += Communicator.wallTime - t }
        return Parallel.map(inputs.count, workers: run.threads) { block.forward(inputs[$0], rope: rope) }
    }

    /// The block's outputs over this rank's windows, computed on `run.threads` other threads while
    /// this thread runs `sideWork`; bit for bit `forward`'s (the same map, only started elsewhere).
    /// The forward is timed as compute and the side work by its own phases; the seconds both ran
    /// at once are counted in `overlapSeconds`, so the breakdown still sums to the wall.
    private func forwardAlongside(_ run: PruneRun, _ block: DecoderBlock, _ inputs: [Matrix],
                                  _ sideWork: () throws -> Void) throws -> [Matrix] {
        let rope = run.rope, threads = run.threads
        let overlap = try Parallel.alongside({ Parallel.map(inputs.count, workers: threads) { block.forward(inputs[$0], rope: rope) } },
                                             sideWork)
        run.pipelineTimings.computeSeconds += overlap.backgroundSeconds
        run.pipelineTimings.overlapSeconds += overlap.hiddenSeconds
        return overlap.value
    }

    /// Whether the next block's weights may be read during this block's forward: only when each
    /// rank reads its own copy (a broadcast is an MPI collective, which stays in block order on the
    /// main thread). Holding the next block while this one's forward runs adds one block's float32
    /// weights, which the budget's working set (9 bytes a weight, for the solve) already covers.
    private static func prefetches(_ run: PruneRun) -> Bool {
        weightTransport == .read || run.comm.size == 1
    }

    /// Prunes the block's linears with the work spread over the ranks — plain SparseGPT by rows
    /// (`RowSplitSparseGPT`), everything else by whole linears — so that every rank ends with the
    /// pruned block; the owner records the outcomes (in linear order, as one rank would) and journals.
    private func pruneSpread(_ run: PruneRun, _ block: inout DecoderBlock, statistics: BlockStatistics, plan: SparsityPlan) throws -> PrunedRecord {
        let linears = BlockLinear.allCases
        var counts: [Int64]
        var zeroing: Set<BlockLinear> = []
        if RowSplitSparseGPT.applies(to: run.configuration, ranks: run.comm.size) {
            counts = try RowSplitSparseGPT(run: run).prune(&block, statistics: statistics, plan: plan)
        } else {
            (counts, zeroing) = try pruneWholeLinears(run, &block, statistics: statistics, plan: plan)
        }
        let outcomes = linears.enumerated().map { i, linear in
            let w = block.weight(linear)
            return LinearOutcome(name: linear.weightName(block: block.index),
                                 plannedSparsity: plan.sparsity(block: block.index, kind: linear.kind),
                                 prunedCount: Int(counts[i]), rows: w.rows, cols: w.cols)
        }
        return PrunedRecord(outcomes: outcomes, zeroing: zeroing)
    }

    /// What `pruneSpread` leaves for the block's owner to record: the outcomes in linear order and
    /// the linears that only zero entries (journaled as bits).
    private struct PrunedRecord {
        var outcomes: [LinearOutcome]
        var zeroing: Set<BlockLinear>
    }

    /// Journals the pruned block (every rank its part) and records its outcomes on the owner.
    private func recordPruned(_ run: PruneRun, _ block: DecoderBlock, _ record: PrunedRecord, owner: Int) throws {
        if let journal = run.journal {
            try journalSpread(run, journal, block, zeroing: record.zeroing, outcomes: record.outcomes, owner: owner)
        }
        guard run.comm.rank == owner else { return }
        run.outcomes += record.outcomes
        if run.journal != nil { FaultInjection.point("journaled block \(block.index)", rank: run.comm.rank) }
    }

    /// Every rank journals the linears `WriteAssignment` deals it (its part of the block), then the
    /// owner writes the marker. One all-reduce carries the checksums to the owner (each slot has
    /// exactly one writer, so the sum is that writer's value) and proves every part is complete.
    private func journalSpread(_ run: PruneRun, _ journal: BlockJournal, _ block: DecoderBlock, zeroing: Set<BlockLinear>,
                               outcomes: [LinearOutcome], owner: Int) throws {
        let linears = BlockLinear.allCases
        let start = Communicator.wallTime, idleBefore = run.pipelineTimings.idleSeconds
        defer { run.pipelineTimings.journalSeconds += Communicator.wallTime - start - (run.pipelineTimings.idleSeconds - idleBefore) }
        let writes = WriteAssignment(shape: block.shape, ranks: run.comm.size)
        let mine = writes.linears(of: run.comm.rank)
        var slots = [UInt64](repeating: 0, count: linears.count)
        for (linear, sum) in zip(mine, try journal.recordPart(block, linears: mine, part: run.comm.rank, zeroing: zeroing,
                                                                   threads: run.threads)) {
            slots[linears.firstIndex(of: linear)!] = sum
        }
        let wait = Communicator.wallTime
        if run.comm.size > 1 { slots = try run.comm.allreduce(slots, .sum) }
        run.pipelineTimings.idleSeconds += Communicator.wallTime - wait
        guard run.comm.rank == owner else { return }
        try journal.commit(block: block.index, parts: Dictionary(uniqueKeysWithValues: linears.map { ($0, writes.rank(of: $0)) }),
                           checksums: Dictionary(uniqueKeysWithValues: zip(linears, slots)), zeroing: zeroing, outcomes: outcomes)
    }

    /// Each linear pruned whole by the rank `LinearAssignment` gives it, then shared; returns the
    /// pruned counts and the linears that only zero entries (shared and journaled as bits).
    ///
    /// Every rank except the one that pruned it still holds the linear dense, so a linear whose
    /// pruned weight is exactly the dense one with the pruned entries zeroed (Wanda, magnitude,
    /// DSnoT, DaSS — checked bit for bit, not assumed) travels as its packed mask, 1 bit per
    /// weight instead of 32; updated weights (ADMM, SparseGPT on one rank) travel whole. No rank
    /// keeps a second copy of the block.
    private func pruneWholeLinears(_ run: PruneRun, _ block: inout DecoderBlock, statistics: BlockStatistics,
                                   plan: SparsityPlan) throws -> ([Int64], Set<BlockLinear>) {
        let assignment = LinearAssignment(shape: block.shape, method: run.configuration.method, ranks: run.comm.size)
        let linears = BlockLinear.allCases
        var counts = [Int64](repeating: 0, count: linears.count)
        var maskOnly = [Int64](repeating: 0, count: linears.count)
        var masks: [BlockLinear: PruningMask] = [:]
        let solveStart = Communicator.wallTime
        let mine = linears.filter { assignment.rank(of: $0) == run.comm.rank }
        let solved = try BlockSolve(configuration: run.configuration, threads: run.threads)
            .prune(mine, of: block, statistics: statistics, plan: plan, checkZeroing: true)
        for (linear, result) in zip(mine, solved) {
            let i = linears.firstIndex(of: linear)!
            if result.zeroing {
                maskOnly[i] = 1
                masks[linear] = result.pruned.mask
            }
            block.weights[linear] = result.pruned.weight
            counts[i] = Int64(result.pruned.prunedCount)
        }
        run.pipelineTimings.solveSeconds += Communicator.wallTime - solveStart
        if run.comm.size > 1 { try sharePruned(run, &block, assignment: assignment, counts: &counts, maskOnly: &maskOnly, masks: masks) }
        return (counts, Set(linears.indices.filter { maskOnly[$0] == 1 }.map { linears[$0] }))
    }

    /// Gives every rank every pruned linear of the block (masks where `maskOnly`), the counts and
    /// the flags (both this rank's on entry, every rank's on return).
    private func sharePruned(_ run: PruneRun, _ block: inout DecoderBlock, assignment: LinearAssignment, counts: inout [Int64],
                             maskOnly: inout [Int64], masks: [BlockLinear: PruningMask]) throws {
        let linears = BlockLinear.allCases
        // The small all-reduce completes when the slowest pruner is done: waiting, not transfer.
        let wait = Communicator.wallTime
        let summary = try run.comm.allreduce(counts + maskOnly, .sum)
        run.pipelineTimings.idleSeconds += Communicator.wallTime - wait
        counts = Array(summary[..<linears.count])
        maskOnly = Array(summary[linears.count...])
        let t = Communicator.wallTime
        // Pack every mask this rank sends before the first broadcast, and zero what it receives
        // after the last: each rank then packs and zeroes its own share at the same time as the
        // others, instead of all waiting in turn on each linear's root.
        let asMask = maskOnly.map { $0 == 1 }
        var bits: [[UInt8]] = linears.indices.map { i in
            guard asMask[i] else { return [] }
            let linear = linears[i]
            if assignment.rank(of: linear) == run.comm.rank { return masks[linear]!.packedBits() }
            return [UInt8](repeating: 0, count: (block.weight(linear).count + 7) / 8)
        }
        for (i, linear) in linears.enumerated() {
            let root = assignment.rank(of: linear)
            if asMask[i] {
                try run.comm.broadcast(&bits[i], root: root)
                if run.comm.rank == root { run.pipelineTimings.bytesSent += bits[i].count * (run.comm.size - 1) }
            } else {
                var m = block.weights.removeValue(forKey: linear)!
                try run.comm.broadcast(&m.elements, root: root)
                if run.comm.rank == root { run.pipelineTimings.bytesSent += m.count * 4 * (run.comm.size - 1) }
                block.weights[linear] = m
            }
        }
        // Ranks other than a linear's root still hold it dense: its mask is all they need.
        for (i, linear) in linears.enumerated() where asMask[i] && assignment.rank(of: linear) != run.comm.rank {
            var pruned = block.weights.removeValue(forKey: linear)!
            PruningMask.zero(&pruned, packedBits: bits[i])
            block.weights[linear] = pruned
        }
        run.pipelineTimings.commSeconds += Communicator.wallTime - t
    }
}
