import Cluster
import MPIKit
import Pruning

/// What a run tells its caller while it goes (issue 23 item 2): the library decides what happened
/// and when (on rank 0 only, so a caller never filters by rank; `groupProgress` is the exception); the caller decides how it looks.
/// The command line renders each event to stderr (`CommandLineEvents`); a test or another program
/// records them.
package enum RunEvent {
    /// A one-line progress or status message, already worded for a person.
    case progress(String)
    /// The layerwise plan every rank agreed on, before any weight is pruned.
    case plan(SparsityPlan)
    /// Depth removal chose its blocks (ShortGPT, SLEB, LLM-Streamline), before the reduced model is made.
    case blocksChosen(BlockRemovalResult)
    /// Something the user should look at; the run goes on.
    case warning(String)
    /// The running count of a long pass (blocks done, rate, ETA): on a terminal each one replaces
    /// the last, so a 30-block prune reads as one line that counts up.
    case meter(String)
    /// A line from the first rank of a group of ranks (a sweep cell's group): the one event not
    /// confined to rank 0, shown by whichever rank sends it, so every group reports its cells.
    case groupProgress(String)
}

/// Where a run's events go.
package typealias RunEvents = (RunEvent) -> Void

/// `events` on rank 0 of `comm`, nothing elsewhere: the one place the library decides which rank
/// reports.
package func reportingRank(of comm: Communicator, _ events: @escaping RunEvents) -> RunEvents {
    comm.rank == 0 ? events : { _ in }
}
