import Model
import Pruning
import Tensor

/// The linears one rank prunes in a block, spread over the job's threads (issue 29 item 2).
///
/// Why: the forwards of a block run on every thread, but its solve used to run on one, linear
/// after linear, while the other threads waited: 2.4 s of a 23 s Wanda prune of SmolLM2 and
/// 8.6 s of a 35 s SparseGPT prune at 2 threads. Now every linear is a task, and plain SparseGPT's
/// tasks are its four factorizations (one per input: q/k/v and gate/up share theirs, as
/// `RowSplitSparseGPT` shares them across ranks, instead of factoring the same Hessian three
/// times) and seven sweeps, each after its input's factor. `Parallel.schedule` starts the longest
/// first (down_proj's factorization) and fills the other threads with the rest; a sweep hands
/// its row panels, tile by tile, to the threads that have nothing else left (`Parallel.Helpers`),
/// so down_proj's sweep, which ends the block after its long factorization, runs on all of them.
///
/// Every task is the code one thread ran before — `pruneLinear`, or for plain SparseGPT exactly
/// its two halves, `inverseHessianFactor` and `SparseGPTSweep.sweep` with the same threshold — on
/// one BLAS thread, so the pruned weights are bit-identical to the serial loop for any thread
/// count. Errors are reported as the serial loop met them: the first linear in block order that
/// fails, with a shared factor's failure named after the first linear that needs it.
public struct BlockSolve: Sendable {
    /// One linear's result, and whether it only zeroes entries of the dense weight (checked on
    /// the task's thread when `checkZeroing`; the journal and the windows split send such a
    /// linear as its mask).
    public struct Solved: Sendable {
        public var pruned: PrunedLinear
        public var zeroing: Bool
    }

    public let configuration: PruneConfiguration
    public let threads: Int

    public init(configuration: PruneConfiguration, threads: Int) {
        self.configuration = configuration
        self.threads = max(1, threads)
    }

    /// Prunes `linears` of `block` (the rank's share, in block order); results in the same order.
    public func prune(_ linears: [BlockLinear], of block: DecoderBlock, statistics: BlockStatistics, plan: SparsityPlan,
               checkZeroing: Bool) throws -> [Solved] {
        let options = configuration.options
        let plain = configuration.method == .sparsegpt && options.dsnot == nil && options.admm == nil
        return try (plain ? sparseGPTTasks(linears, block, statistics, plan) : linearTasks(linears, block, statistics, plan))
            .run(workers: threads, checkZeroing: checkZeroing, weights: linears.map { block.weight($0) })
    }

    /// One `pruneLinear` per linear, largest (`rows·cols`) first.
    private func linearTasks(_ linears: [BlockLinear], _ block: DecoderBlock, _ statistics: BlockStatistics,
                             _ plan: SparsityPlan) -> Tasks {
        let method = configuration.method, options = configuration.options
        let down = statistics.statistics(for: .down).wanda
        var tasks = Tasks(linearCount: linears.count)
        for (i, linear) in linears.enumerated() {
            let weight = block.weight(linear), kind = linear.kind
            let linearStatistics = statistics.statistics(for: linear)
            let sparsity = plan.sparsity(block: block.index, kind: kind), pattern = plan.pattern(block: block.index, kind: kind)
            let id = LinearID(block: block.index, kind: kind)
            tasks.add(.linear(i), cost: LinearAssignment.cost(rows: weight.rows, cols: weight.cols, method: method)) { _, _ in
                .pruned(try pruneLinear(weight: weight, id: id, statistics: linearStatistics, intermediate: down,
                                        method: method, sparsity: sparsity, pattern: pattern, options: options))
            }
        }
        return tasks
    }

    /// Plain SparseGPT: `pruneLinear`'s checks per linear, one factorization per input that some
    /// linear sweeps, and each sweep after its factor.
    private func sparseGPTTasks(_ linears: [BlockLinear], _ block: DecoderBlock, _ statistics: BlockStatistics,
                                _ plan: SparsityPlan) -> Tasks {
        let options = configuration.options
        var tasks = Tasks(linearCount: linears.count)
        var factorTask: [LinearInput: Int] = [:]
        var sweeps: [(index: Int, linear: BlockLinear, hessian: Result<Matrix?, any Error>)] = []
        for (i, linear) in linears.enumerated() {
            let hessian = Result {
                try sparseGPTHessian(weightColumns: block.weight(linear).cols, id: LinearID(block: block.index, kind: linear.kind),
                                     statistics: statistics.statistics(for: linear),
                                     sparsity: plan.sparsity(block: block.index, kind: linear.kind),
                                     pattern: plan.pattern(block: block.index, kind: linear.kind))
            }
            sweeps.append((i, linear, hessian))
            // The first linear of an input that passes its checks supplies (and names) the factor.
            guard case .success(let h?) = hessian, factorTask[linear.input] == nil else { continue }
            let layer = LinearID(block: block.index, kind: linear.kind).description
            factorTask[linear.input] = tasks.add(.factor, cost: FactorAssignment.factorCost(cols: h.cols) * 2) { _, _ in
                .factor(try inverseHessianFactor(hessian: h, percdamp: options.percdamp, layer: layer))
            }
        }
        for (i, linear, hessian) in sweeps {
            let weight = block.weight(linear), kind = linear.kind
            let sparsity = plan.sparsity(block: block.index, kind: kind), pattern = plan.pattern(block: block.index, kind: kind)
            let layer = LinearID(block: block.index, kind: kind).description
            let h: Matrix?
            switch hessian {
            case .success(let found): h = found
            case .failure(let error):
                tasks.add(.linear(i), cost: 0) { _, _ in throw error }
                continue
            }
            guard h != nil, let factor = factorTask[linear.input] else {
                // Sparsity 0: `pruneLinear` returns the weight unchanged.
                tasks.add(.linear(i), cost: 0) { _, _ in
                    .pruned(PrunedLinear(weight: weight, mask: PruningMask(rows: weight.rows, cols: weight.cols), prunedCount: 0))
                }
                continue
            }
            tasks.add(.linear(i), cost: FactorAssignment.sweepCost(rows: weight.rows, cols: weight.cols), after: [factor]) { done, helpers in
                guard case .factor(let u) = try done(factor).get() else { fatalError("schedule: a sweep's dependency is its factor") }
                let result = try SparseGPTSweep.sweep(weight: weight, factor: u, sparsity: sparsity, pattern: pattern,
                                                      blocksize: options.blocksize, layer: layer, helpers: helpers) {
                    SparseGPTSweep.threshold(ofAllScores: $0, sparsity: sparsity)
                }
                return .pruned(PrunedLinear(weight: result.weight, mask: result.mask, prunedCount: result.mask.prunedCount))
            }
        }
        return tasks
    }
}

extension BlockSolve {
    enum Value: Sendable {
        case factor(InverseHessianFactor)
        /// `zeroing` is filled in by `Tasks.run` when asked to check.
        case pruned(PrunedLinear, zeroing: Bool = false)
    }

    enum Role: Sendable, Equatable {
        case factor
        case linear(Int)
    }

    /// The block's tasks before they run: role, cost and dependencies of each, in the order added.
    struct Tasks {
        typealias Body = @Sendable (_ done: (Int) -> Result<Value, any Error>, _ helpers: Parallel.Helpers) throws -> Value
        private var roles: [Role] = []
        private var costs: [Double] = []
        private var after: [[Int]] = []
        private var bodies: [Body] = []
        let linearCount: Int

        init(linearCount: Int) { self.linearCount = linearCount }

        @discardableResult
        mutating func add(_ role: Role, cost: Double, after dependencies: [Int] = [], _ body: @escaping Body) -> Int {
            roles.append(role)
            costs.append(cost)
            after.append(dependencies)
            bodies.append(body)
            return roles.count - 1
        }

        /// Runs every task longest first over `workers` threads; returns each linear's result, or
        /// throws the error of the first linear (in block order) that failed or whose factor did.
        /// A linear's task also checks, on its own thread, whether it only zeroes `weights[i]`.
        func run(workers: Int, checkZeroing: Bool, weights: [Matrix]) throws -> [BlockSolve.Solved] {
            // Longest first, ties in the order added, then renumbered into that order.
            let order = costs.indices.sorted { costs[$0] > costs[$1] || (costs[$0] == costs[$1] && $0 < $1) }
            var renumbered = [Int](repeating: 0, count: order.count)
            for (p, t) in order.enumerated() { renumbered[t] = p }
            let position = renumbered
            let bodies = order.map { self.bodies[$0] }, roles = order.map { self.roles[$0] }
            let dependencies = order.map { after[$0].map { position[$0] } }
            let results = Parallel.schedule(order.count, workers: workers, dependencies: dependencies) { p, done, helpers in
                Result<Value, any Error> {
                    let value = try bodies[p]({ done(position[$0]) }, helpers)
                    guard case .linear(let i) = roles[p], case .pruned(let pruned, _) = value, checkZeroing else { return value }
                    return .pruned(pruned, zeroing: pruned.mask.isZeroing(of: weights[i], giving: pruned.weight))
                }
            }
            var byLinear = [Result<Value, any Error>?](repeating: nil, count: linearCount)
            for (p, role) in roles.enumerated() { if case .linear(let i) = role { byLinear[i] = results[p] } }
            return try byLinear.map { result in
                guard case .pruned(let pruned, let zeroing) = try result!.get() else {
                    fatalError("schedule: a linear's task returns its pruned weight")
                }
                return BlockSolve.Solved(pruned: pruned, zeroing: zeroing)
            }
        }
    }
}
