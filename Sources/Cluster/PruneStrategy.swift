import Model
import Pruning

/// The allocation's block scores (OWL outlier ratios, DLP scores) from a strategy's phase 1.
enum BlockScores {
    /// Scores of this rank's own blocks only (both splits: in the windows split every rank holds
    /// each block, but only its owner scores it); summed into the full vector.
    case own([Double])
    /// Every block's score, already identical on every rank (a sweep's scores, computed once).
    case all([Double])
}

/// How a prune's two phases are laid out over the ranks (docs/design.md §3 "Two ways to split the
/// work"). Every strategy produces the same tensors and plan for any rank count; they differ in
/// what each rank holds and who waits for whom.
protocol PruneStrategy {
    /// Phase 1: the dense pass the allocation (or dense propagation) needs; nil when the plan
    /// needs no scores. A strategy may keep what it gathered for `prune` (dense keeps its blocks).
    /// - Parameter planOnly: only the plan is wanted; statistics for pruning need not be kept.
    mutating func scores(_ run: PruneRun, planOnly: Bool) throws -> BlockScores?

    /// Phase 2: prune with the agreed plan, handing every block this rank owns to `sink` in block order.
    mutating func prune(_ run: PruneRun, plan: SparsityPlan, sink: (DecoderBlock) throws -> Void) throws

    /// Whether phase 1 gathers what phase 2 prunes with (dense propagation keeps its blocks and
    /// their statistics), so it runs even when the block scores were given by the caller.
    var pruneNeedsPhaseOne: Bool { get }
}

extension PruneStrategy {
    var pruneNeedsPhaseOne: Bool { false }
}

extension PruneJob {
    /// The strategy for this job's split and propagation.
    func makeStrategy() -> any PruneStrategy {
        switch split {
        case .windows: WindowsSplitStrategy()
        case .blocks where configuration.propagation == .dense && configuration.needsActivations: DenseBlocksStrategy()
        case .blocks: SequentialBlocksStrategy()
        }
    }
}
