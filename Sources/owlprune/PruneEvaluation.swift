import Checkpoint
import Evaluation
import Foundation
import MPIKit
import Model
import Tokenizer

/// `prune --eval FILE`: dense and pruned perplexity in the same job (issue 13 item 8), and how far
/// the pruned model has moved from the dense one — mean KL divergence and same top token
/// (issue 27, docs/quality.md). The text is tokenized once; the pruned model is read from the
/// finished output directory through the same memory-mapped reader `owlprune eval` uses, so the
/// perplexities are exactly what `eval` would print for each directory (docs/algorithms.md §11).
/// Both models run window by window in one pass (`DistributedDivergence`), the dense log-probabilities
/// recomputed per window rather than kept (docs/quality.md §3).
struct PruneEvaluation {
    let comm: Communicator
    let dense: CheckpointDirectory
    let prunedDirectory: String
    let options: EvalAfterPruneOptions

    struct Result: Codable {
        var data: String
        var dense: PerplexityResult?
        var pruned: PerplexityResult
        /// KL divergence, same top and Δp of the pruned model against the dense one (not with --eval-skip-dense).
        var divergence: DivergenceStatistics?
    }

    func run(data: String) throws -> Result {
        let architecture = try Architecture(config: dense.config)
        let length = options.evalSeqlen ?? min(2048, architecture.maxPositions)
        var tokens: [Int] = []
        if comm.rank == 0 {
            let tokenizer = try Tokenizer.load(directory: dense.url)
            tokens = tokenizer.encode(try readTextFile(URL(fileURLWithPath: data))).map(Int.init)
            progress("eval: \((data as NSString).lastPathComponent) → \(tokens.count) tokens")
        }
        let pruned = try CheckpointDirectory(url: URL(fileURLWithPath: prunedDirectory))
        // A depth-pruned model (--remove-blocks) has fewer blocks than the dense one: its own config decides.
        let prunedArchitecture = try Architecture(config: pruned.config)
        if options.skipDense {
            let prunedEvaluator = try DistributedPerplexity(comm: comm, architecture: prunedArchitecture, seqlen: length)
            let prunedResult = try prunedEvaluator.run(source: pruned, tokens: tokens, maxWindows: options.evalWindows, dataName: data,
                                                       progress: { progress("pruned " + $0) })
            return Result(data: data, dense: nil, pruned: prunedResult, divergence: nil)
        }
        let job = try DistributedDivergence(comm: comm, base: architecture, other: prunedArchitecture, seqlen: length,
                                            scoring: .allButFirst)
        let both = try job.run(base: dense, other: pruned, tokens: tokens, maxWindows: options.evalWindows, dataName: data,
                               progress: { progress("dense and pruned " + $0) })
        return Result(data: data, dense: both.base, pruned: both.other, divergence: both.statistics)
    }
}
