import Checkpoint
import Evaluation
import Foundation
import MPIKit
import Model

/// `prune --eval FILE`: dense and pruned perplexity in the same job (issue 13 item 8), and how far
/// the pruned model has moved from the dense one — mean KL divergence and same top token
/// (issue 27, docs/quality.md). The text is tokenized once; the pruned model is read from the
/// finished output directory through the same memory-mapped reader `owlprune eval` uses, so the
/// perplexities are exactly what `eval` would print for each directory (docs/algorithms.md §11).
/// Both models run window by window in one pass (`DistributedDivergence`), the dense log-probabilities
/// recomputed per window rather than kept (docs/quality.md §3).
package struct PruneEvaluation {
    package let comm: Communicator
    package let dense: CheckpointDirectory
    package let prunedDirectory: String
    package let options: EvalAfterPruneOptions

    /// Progress lines (rank 0 only).
    package let events: RunEvents

    package init(comm: Communicator, dense: CheckpointDirectory, prunedDirectory: String, options: EvalAfterPruneOptions,
                 events: @escaping RunEvents) {
        self.events = reportingRank(of: comm, events)
        self.comm = comm
        self.dense = dense
        self.prunedDirectory = prunedDirectory
        self.options = options
    }

    package struct Result: Codable {
        package var data: String
        package var dense: PerplexityResult?
        package var pruned: PerplexityResult
        /// KL divergence, same top and Δp of the pruned model against the dense one (not with --eval-skip-dense).
        package var divergence: DivergenceStatistics?
    }

    package func run(data: String) throws -> Result {
        // The window length is the dense model's default (a depth-pruned model keeps its positions).
        let length = try options.evalSeqlen ?? PerplexityRun.defaultLength([Architecture(config: dense.config)])
        let tokens = try PerplexityRun.tokenize(file: data, tokenizerOf: dense.url, comm: comm)
        events(.progress("eval: \((data as NSString).lastPathComponent) → \(tokens.count) tokens"))
        // A depth-pruned model (--remove-blocks) has fewer blocks than the dense one: its own config decides.
        let pruned = try CheckpointDirectory(url: URL(fileURLWithPath: prunedDirectory))
        let run = PerplexityRun(comm: comm, tokens: tokens, dataName: data, seqlen: length, maxWindows: options.evalWindows)
        if options.skipDense {
            let prunedResult = try run.perplexity(of: pruned, progress: { events(.progress("pruned " + $0)) })
            return Result(data: data, dense: nil, pruned: prunedResult, divergence: nil)
        }
        let both = try run.compare(base: dense, other: pruned, progress: { events(.progress("dense and pruned " + $0)) })
        return Result(data: data, dense: both.base, pruned: both.other, divergence: both.statistics)
    }
}
