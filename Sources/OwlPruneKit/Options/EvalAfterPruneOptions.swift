import ArgumentParser

/// `prune --eval FILE`: perplexity of the dense and the pruned model in the same job, after the
/// output is complete (docs/algorithms.md §11 protocol, as `owlprune eval`).
package struct EvalAfterPruneOptions: ParsableArguments {
    /// Explicit: `ParsableArguments` needs an initializer as visible as the type (the command line's module parses it).
    package init() {}
    @Option(name: .customLong("eval"), help: ArgumentHelp("Evaluation text: after pruning, print dense and pruned perplexity on it.", valueName: "file"),
            completion: .file())
    package var evalData: String?

    @Option(name: .customLong("eval-seqlen"), help: "Evaluation window length (default: min(2048, max_position_embeddings)).")
    package var evalSeqlen: Int?

    @Option(name: .customLong("eval-windows"), help: "Evaluate only the first K windows.")
    package var evalWindows: Int?

    @Flag(name: .customLong("eval-skip-dense"), help: "With --eval, evaluate only the pruned model.")
    package var skipDense = false

    package func validate() throws {

        guard !ParseOnly.active else { return }
        if let s = evalSeqlen, s < 2 { throw ValidationError("--eval-seqlen \(s): a window needs at least 2 tokens") }
        if let k = evalWindows, k < 1 { throw ValidationError("--eval-windows \(k): must be at least 1") }
        if evalData == nil, evalSeqlen != nil || evalWindows != nil || skipDense {
            throw ValidationError("--eval-seqlen, --eval-windows and --eval-skip-dense need --eval FILE")
        }
    }
}
