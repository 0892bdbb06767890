import Checkpoint
import Evaluation
import Foundation
import MPIKit
import Model
import Tokenizer

/// `prune --eval FILE`: dense and pruned perplexity in the same job (issue 13 item 8). The text is
/// tokenized once; the pruned model is read from the finished output directory through the same
/// memory-mapped reader `owlprune eval` uses, so the numbers are exactly what `eval` would print
/// for each directory (docs/algorithms.md §11).
struct PruneEvaluation {
    let comm: Communicator
    let dense: CheckpointDirectory
    let prunedDirectory: String
    let options: EvalAfterPruneOptions

    struct Result: Codable {
        var data: String
        var dense: PerplexityResult?
        var pruned: PerplexityResult
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
        let evaluator = try DistributedPerplexity(comm: comm, architecture: architecture, seqlen: length)
        let denseResult = options.skipDense ? nil
            : try evaluator.run(source: dense, tokens: tokens, maxWindows: options.evalWindows, dataName: data,
                                progress: { progress("dense " + $0) })
        let pruned = try CheckpointDirectory(url: URL(fileURLWithPath: prunedDirectory))
        // A depth-pruned model (--remove-blocks) has fewer blocks than the dense one: its own config decides.
        let prunedEvaluator = try DistributedPerplexity(comm: comm, architecture: try Architecture(config: pruned.config), seqlen: length)
        let prunedResult = try prunedEvaluator.run(source: pruned, tokens: tokens, maxWindows: options.evalWindows, dataName: data,
                                             progress: { progress("pruned " + $0) })
        return Result(data: data, dense: denseResult, pruned: prunedResult)
    }
}
