import Distribution
import Foundation
import Pruning

/// What `PruneJob.run` did on this rank, returned as a value (the report is built from it, not
/// from state read back out of the job).
public struct PruneResult: Sendable {
    /// The plan every rank agreed on.
    public var plan: SparsityPlan
    /// The linears of the blocks this rank owns, in block and linear order.
    public var outcomes: [LinearOutcome]
    public var times: PhaseTimes
    public var timings: PipelineTimings
    /// Blocks taken from the resume journal instead of being pruned again.
    public var resumedBlocks: [Int]
    /// The resume journal, removed once the output is committed; nil without one.
    public var journalDirectory: URL?
}
