import MPIKit
import Model
import Pruning
import Tensor

/// SparseGPT in the windows split with every linear's rows spread over all ranks (issue 9 item 3;
/// docs/design.md §3 "Row-parallel SparseGPT").
///
/// Per block:
/// 1. Each input's inverse-Hessian factor is computed by one rank (`FactorAssignment`, cost
///    `cols³`; q/k/v and gate/up share theirs, so four factorizations run in parallel instead
///    of seven one after another) — every rank already holds every Hessian from
///    `WindowOrderChain`, so nothing moves for this step.
/// 2. Solo phase: while the busiest rank still factors (down_proj's wide Hessian), the other
///    ranks sweep whole, alone and without a message, the linears whose factor they computed
///    (`FactorAssignment.solo`), so no rank sits waiting for another's factorization.
/// 3. Row-split phase: linear by linear, each remaining linear's factor is broadcast from its
///    rank, every rank sweeps its own panels of the weight's rows (`SparseGPTSweep.rowShares`),
///    and for unstructured patterns the tile threshold is taken over every rank's scores (one
///    `allgather` of `rows × 128` floats per tile: the reference's single threshold over all
///    rows of the tile, exactly). The updated rows are all-gathered.
/// 4. The solo linears are broadcast from their sweepers (every rank needs the pruned block to
///    propagate its windows) and the pruned counts summed.
///
/// The result is bit-identical to one rank's `pruneLinear`, because `SparseGPTSweep` fixes the
/// panels from the weight's first row whatever the share, a solo sweep is one rank's sweep, and
/// the factor is the same function of the same Hessian wherever it runs. The solver's cost per
/// rank falls from the whole sweep of the linears a rank was given (`rows · cols²` each,
/// down_proj alone a third of the block) to the largest factorization plus `1/R` of the
/// row-split sweeps (`FactorAssignment.makespan`), against `cols²` floats of factor broadcast
/// per row-split input and one broadcast per solo linear.
struct RowSplitSparseGPT {
    let run: PruneRun

    /// Whether the windows split prunes SparseGPT this way: plain SparseGPT over several ranks.
    /// DSnoT over SparseGPT sweeps nothing (its metric is `W²/U_jj²` alone) and ADMM replaces the
    /// sweep, so both keep whole-linear assignment.
    static func applies(to configuration: PruneConfiguration, ranks: Int) -> Bool {
        ranks > 1 && configuration.method == .sparsegpt && configuration.options.dsnot == nil
            && configuration.options.admm == nil
    }

    /// Prunes the block's seven linears in place on every rank; returns their pruned counts.
    func prune(_ block: inout DecoderBlock, statistics: BlockStatistics, plan: SparsityPlan) throws -> [Int64] {
        let comm = run.comm, options = run.configuration.options
        let linears = BlockLinear.allCases
        let start = Communicator.wallTime
        var commSeconds = 0.0
        var hessians: [BlockLinear: Matrix] = [:]
        for linear in linears {
            let id = LinearID(block: block.index, kind: linear.kind)
            hessians[linear] = try sparseGPTHessian(weightColumns: block.weight(linear).cols, id: id,
                                                    statistics: statistics.statistics(for: linear),
                                                    sparsity: plan.sparsity(block: block.index, kind: linear.kind),
                                                    pattern: plan.pattern(block: block.index, kind: linear.kind))
        }
        let owners = FactorAssignment(shape: block.shape, ranks: comm.size, swept: Set(linears.filter { hessians[$0] != nil }))
        // One factor per input that some linear sweeps: q/k/v and gate/up share theirs. The
        // factor error names the first such linear, as one rank's `pruneLinear` would.
        var factors: [LinearInput: InverseHessianFactor] = [:]
        for input in LinearInput.allCases where owners.factors(input) && owners.rank(of: input) == comm.rank {
            guard let linear = linears.first(where: { $0.input == input && hessians[$0] != nil }) else { continue }
            factors[input] = try inverseHessianFactor(hessian: hessians[linear]!, percdamp: options.percdamp,
                                                      layer: LinearID(block: block.index, kind: linear.kind).description)
        }
        var counts = [Int64](repeating: 0, count: linears.count)
        // Solo phase: while the busiest rank still factors, the others sweep the linears whose
        // factor they hold, alone and whole — exactly one rank's `sparseGPT` (no message).
        for (i, linear) in linears.enumerated() where owners.solo[linear] == comm.rank {
            let result = try SparseGPTSweep.sweep(weight: block.weight(linear), factor: factors[linear.input]!,
                                                  sparsity: plan.sparsity(block: block.index, kind: linear.kind),
                                                  pattern: plan.pattern(block: block.index, kind: linear.kind),
                                                  blocksize: options.blocksize,
                                                  layer: LinearID(block: block.index, kind: linear.kind).description) {
                SparseGPTSweep.threshold(ofAllScores: $0, sparsity: plan.sparsity(block: block.index, kind: linear.kind))
            }
            block.weights[linear] = result.weight
            counts[i] = Int64(result.mask.prunedCount)
        }
        // Row-split phase: every other swept linear, on every rank's rows.
        var received: [LinearInput: InverseHessianFactor] = [:]
        for (i, linear) in linears.enumerated() where hessians[linear] != nil && owners.solo[linear] == nil {
            let weight = block.weight(linear)
            let factor = try received[linear.input] ?? broadcastFactor(factors[linear.input], columns: weight.cols,
                                                                         root: owners.rank(of: linear.input), seconds: &commSeconds)
            received[linear.input] = factor
            let sparsity = plan.sparsity(block: block.index, kind: linear.kind)
            let share = SparseGPTSweep.rowShares(rows: weight.rows, parts: comm.size)[comm.rank]
            let result = try SparseGPTSweep.sweep(weight: weight.rows(share), factor: factor, sparsity: sparsity,
                                                  pattern: plan.pattern(block: block.index, kind: linear.kind),
                                                  blocksize: options.blocksize,
                                                  layer: LinearID(block: block.index, kind: linear.kind).description) { scores in
                let t = Communicator.wallTime
                defer { commSeconds += Communicator.wallTime - t }
                run.pipelineTimings.bytesSent += scores.count * 4 * (comm.size - 1)
                let all: [Float] = try comm.allgather(scores)
                return SparseGPTSweep.threshold(ofAllScores: all, sparsity: sparsity)
            }
            let g = Communicator.wallTime
            let rows = try comm.allgather(result.weight.elements)
            run.pipelineTimings.bytesSent += result.weight.count * 4 * (comm.size - 1)
            commSeconds += Communicator.wallTime - g
            block.weights[linear] = Matrix(rows: weight.rows, cols: weight.cols, elements: rows)
            counts[i] = Int64(result.mask.prunedCount)
        }
        // The solo linears reach every rank from their sweeper (updated weights travel whole).
        let t = Communicator.wallTime
        for linear in linears {
            guard let root = owners.solo[linear] else { continue }
            var m = block.weights.removeValue(forKey: linear)!
            try comm.broadcast(&m.elements, root: root)
            if root == comm.rank { run.pipelineTimings.bytesSent += m.count * 4 * (comm.size - 1) }
            block.weights[linear] = m
        }
        counts = try comm.allreduce(counts, .sum)
        commSeconds += Communicator.wallTime - t
        run.pipelineTimings.commSeconds += commSeconds
        run.pipelineTimings.solveSeconds += Communicator.wallTime - start - commSeconds
        return counts
    }

    /// `root`'s factor on every rank (`U` as float32, the dead columns as bytes).
    private func broadcastFactor(_ own: InverseHessianFactor?, columns cols: Int, root: Int, seconds: inout Double) throws -> InverseHessianFactor {
        let t = Communicator.wallTime
        defer { seconds += Communicator.wallTime - t }
        var upper = own?.upper.elements ?? [Float](repeating: 0, count: cols * cols)
        try run.comm.broadcast(&upper, root: root)
        var dead = own.map { $0.dead.map { UInt8($0 ? 1 : 0) } } ?? [UInt8](repeating: 0, count: cols)
        try run.comm.broadcast(&dead, root: root)
        if root == run.comm.rank { run.pipelineTimings.bytesSent += (upper.count * 4 + dead.count) * (run.comm.size - 1) }
        return InverseHessianFactor(upper: Matrix(rows: cols, cols: cols, elements: upper), dead: dead.map { $0 != 0 })
    }
}
