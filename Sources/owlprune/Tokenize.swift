import OwlPruneKit
import ArgumentParser
import Checkpoint
import Foundation
import Tokenizer

extension OwlPrune {
    /// `owlprune tokenize`: the exact ids owlprune evaluates and calibrates on, for checking against
    /// another implementation or feeding `--calib-tokens`.
    struct Tokenize: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Encode a text file with a checkpoint's tokenizer into little-endian uint32 ids.")

        @Option(help: "Checkpoint directory holding tokenizer.json (and tokenizer_config.json).")
        var model: String

        @Option(help: "Text file (UTF-8; a leading byte-order mark is dropped).")
        var text: String

        @Option(help: "Output .ids file (little-endian uint32, no header).")
        var out: String

        func run() throws {
            try OutputPath.check(URL(fileURLWithPath: out), inputs: [("--model", URL(fileURLWithPath: model)),
                                                                     ("--text", URL(fileURLWithPath: text))])
            let tokenizer = try Tokenizer.load(directory: URL(fileURLWithPath: model))
            let content = try readTextFile(URL(fileURLWithPath: text))
            let t0 = Date()
            let ids = tokenizer.encode(content)
            let seconds = Date().timeIntervalSince(t0)
            var bytes = Data(capacity: ids.count * 4)
            for id in ids { withUnsafeBytes(of: id.littleEndian) { bytes.append(contentsOf: $0) } }
            let dest = URL(fileURLWithPath: out)
            try AtomicFile.write(bytes, to: dest)
            printResult(String(format: "%d tokens → %@ (%.2f s, %.0f bytes/s)", ids.count, out, seconds,
                               Double(content.utf8.count) / max(seconds, 1e-9)))
        }
    }
}
