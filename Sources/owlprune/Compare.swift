import OwlPruneKit
import ArgumentParser
import Checkpoint
import Evaluation
import Foundation
import Model
import Tensor

extension OwlPrune {
    /// `owlprune compare A B`: a dense model and its pruned copy (or two pruned ones) side by side —
    /// block sparsity, parameter counts and, with `--data`, both perplexities (bit-identical to
    /// `owlprune eval`'s with owlprune's scoring) and how far B has moved from A: KL divergence,
    /// same top token and Δp per scored token, llama.cpp's `--kl-divergence` statistics
    /// (docs/quality.md). The text is tokenized once, with A's tokenizer.
    struct Compare: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Two checkpoints side by side: sparsity per block, parameter counts, perplexity on a text.")

        @Argument(help: "First Hugging Face checkpoint directory (e.g. the dense model).") var first: String
        @Argument(help: "Second Hugging Face checkpoint directory (e.g. the pruned model).") var second: String
        @Option(help: "Evaluation text; without it no perplexity is computed.") var data: String?
        @Option(help: "Window length in tokens (default: min(2048, max_position_embeddings)).") var seqlen: Int?
        @Option(help: "Evaluate only the first K windows.") var maxWindows: Int?
        @Flag(help: "Score only the second half of each window, as llama-perplexity does, so the numbers can be set beside llama.cpp's for the same windows.")
        var llamaCppScoring = false
        @Flag(help: "Print one JSON object on stdout.") var json = false

        typealias Side = CompareRun.Side

        func validate() throws {

            guard !ParseOnly.active else { return }
            if let s = seqlen, s < 2 { throw ValidationError("--seqlen \(s): a window needs at least 2 tokens") }
            if let k = maxWindows, k < 1 { throw ValidationError("--max-windows \(k): must be at least 1") }
            if llamaCppScoring && data == nil { throw ValidationError("--llama-cpp-scoring needs --data") }
        }

        func run() throws {
            let comm = try Runtime.communicator()
            setBLASThreads(1)
            let run = CompareRun(first: first, second: second, data: data, seqlen: seqlen, maxWindows: maxWindows,
                                 llamaCppScoring: llamaCppScoring)
            guard let outcome = try run.run(comm: comm, events: CommandLineEvents.show) else { return }
            let (sides, divergence) = (outcome.sides, outcome.divergence)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                encoder.keyEncodingStrategy = .convertToSnakeCase
                printResult(String(decoding: try encoder.encode(Output(models: sides, scoring: divergence?.scoring,
                                                                       divergence: divergence?.statistics)), as: UTF8.self))
            } else {
                text(sides).forEach { printResult($0) }
                if let divergence {
                    printResult("")
                    printResult("B against A, \(divergence.statistics.tokens) scored tokens (\(divergence.scoring.rawValue) scoring):")
                    divergence.statistics.llamaCppLines().forEach { printResult($0) }
                }
            }
        }

        /// The JSON document: both sides, and with `--data` how B differs from A.
        struct Output: Encodable {
            var models: [Side]
            var scoring: ScoredPositions?
            var divergence: DivergenceStatistics?
        }

        private func text(_ sides: [Side]) -> [String] {
            let (a, b) = (sides[0], sides[1])
            var lines = ["A: \(a.path)", "B: \(b.path)"]
            let label = { (s: String) in s.padding(toLength: 22, withPad: " ", startingAt: 0) }
            lines.append(label("") + "              A              B")
            lines.append(label("parameters") + String(format: " %14d %14d", a.summary.parameters, b.summary.parameters))
            lines.append(label("nonzero parameters") + String(format: " %14d %14d", a.summary.nonzeroParameters, b.summary.nonzeroParameters))
            lines.append(label("block linear sparsity") + String(format: " %14.4f %14.4f", a.summary.overall, b.summary.overall))
            if let pa = a.perplexity, let pb = b.perplexity {
                lines.append(label("perplexity") + String(format: " %14.4f %14.4f   (%d windows × %d tokens)", pa.perplexity, pb.perplexity,
                                                          pa.windows, pa.seqlen))
            }
            lines.append("block  sparsity A  sparsity B  difference")
            let count = max(a.summary.blocks.count, b.summary.blocks.count)
            for i in 0..<count {
                let sa = a.summary.blocks.first { $0.block == i }?.sparsity
                let sb = b.summary.blocks.first { $0.block == i }?.sparsity
                let fmt = { (v: Double?) in v.map { String(format: "%10.4f", $0) } ?? "         -" }
                let diff = (sa != nil && sb != nil) ? String(format: "%+10.4f", sb! - sa!) : "         -"
                lines.append(String(format: "%5d  %@  %@  %@", i, fmt(sa), fmt(sb), diff))
            }
            return lines
        }
    }
}
