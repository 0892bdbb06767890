import OwlPruneKit
import ArgumentParser
import Checkpoint
import Evaluation
import Foundation
import Model
import Tensor

extension OwlPrune {
    /// `owlprune eval`: WikiText-style perplexity (docs/algorithms.md §11), the model pipelined over the ranks.
    /// Unlike llama.cpp's `llama-perplexity`, every token of a window but the first is scored, so the
    /// numbers are the pruning papers' protocol and not comparable with llama.cpp's.
    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Perplexity of a checkpoint on a text file, windows streamed through the MPI ranks.")

        @OptionGroup(title: "Model") var modelOptions: ModelOptions
        var model: String { modelOptions.model }

        @Option(help: "Evaluation text (read as UTF-8 bytes, tokenized as one string).")
        var data: String

        @Option(help: "Window length in tokens (default: min(2048, max_position_embeddings)).")
        var seqlen: Int?

        @Option(help: "Evaluate only the first K windows.")
        var maxWindows: Int?

        @Flag(help: "Print one JSON object on stdout.")
        var json = false

        @OptionGroup var memory: MemoryOptions
        /// The result with the model and data paths, so a JSON line says what it measured.
        static func json(_ result: PerplexityResult, model: String, data: String) throws -> String {
            var object = try JSONSerialization.jsonObject(with: Data(result.jsonString().utf8)) as? [String: Any] ?? [:]
            object["model"] = model
            object["data"] = data
            let bytes = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            return String(decoding: bytes, as: UTF8.self)
        }

        func validate() throws {

            guard !ParseOnly.active else { return }
            try modelOptions.check()
            if let s = seqlen, s < 2 { throw ValidationError("--seqlen \(s): a window needs at least 2 tokens") }
            if let k = maxWindows, k < 1 { throw ValidationError("--max-windows \(k): must be at least 1") }
        }

        func run() throws {
            let comm = try Runtime.communicator()
            setBLASThreads(1)
            let run = EvalRun(model: model, data: data, seqlen: seqlen, maxWindows: maxWindows, memory: memory)
            guard let result = try run.run(comm: comm, events: CommandLineEvents.show) else { return }
            if json {
                printResult(try Self.json(result, model: model, data: data))
            } else {
                printResult(String(format: "perplexity %.4f  (%d windows × %d tokens, %d scored, %d ranks, %.0f tokens/s, %.1f s)",
                                   result.perplexity, result.windows, result.seqlen, result.tokensScored,
                                   result.ranks, result.tokensPerSecond, result.seconds))
            }
        }
    }
}
