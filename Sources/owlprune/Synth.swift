import ArgumentParser
import Checkpoint
import Foundation
import Tokenizer

extension OwlPrune {
    /// `owlprune synth`: a random-weight checkpoint with a real model's shapes, for scaling
    /// experiments. The vocabulary (and tokenizer files) come from an existing checkpoint,
    /// SmolLM2's by default, so `prune --calib` and `eval` work on it unchanged.
    struct Synth: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a seeded random-weight checkpoint with real shapes.")

        @Option(help: "smollm2-135m | llama-1b | llama-7b | llama-13b | custom") var shape: String
        @Option(help: "f32 | bf16 | f16") var dtype: String = "bf16"
        @Option(help: "Seed of the weights.") var seed: UInt64 = 0
        @Option(help: "Output directory.") var out: String
        @Option(help: "Checkpoint whose tokenizer files (and vocabulary size) are used.") var tokenizer: String = "models/smollm2-135m"
        @Option(help: "custom: hidden size") var hidden: Int?
        @Option(help: "custom: intermediate size") var intermediate: Int?
        @Option(help: "custom: blocks") var layers: Int?
        @Option(help: "custom: attention heads") var heads: Int?
        @Option(help: "custom: key/value heads") var kvHeads: Int?
        @Flag(help: "Replace an existing output directory.") var force = false

        /// (hidden, intermediate, blocks, heads, kv heads, max positions). llama-1b is
        /// TinyLlama-1.1B's layout, llama-7b and llama-13b are LLaMA-1/2's.
        static let shapes: [String: (Int, Int, Int, Int, Int, Int)] = [
            "smollm2-135m": (576, 1536, 30, 9, 3, 8192),
            "llama-1b": (2048, 5632, 22, 32, 4, 2048),
            "llama-7b": (4096, 11008, 32, 32, 32, 4096),
            "llama-13b": (5120, 13824, 40, 40, 40, 4096),
        ]

        var storage: SafetensorsDType? { ["f32": .f32, "bf16": .bf16, "f16": .f16][dtype] }

        func validate() throws {
            guard storage != nil else { throw ValidationError("--dtype \(dtype): expected f32, bf16 or f16") }
            if shape == "custom" {
                guard let h = hidden, let i = intermediate, let l = layers, let n = heads, h > 0, i > 0, l > 0, n > 0,
                      h % n == 0, n % (kvHeads ?? n) == 0 else {
                    throw ValidationError("--shape custom needs --hidden, --intermediate, --layers, --heads (dividing hidden) and optionally --kv-heads (dividing heads)")
                }
            } else if Self.shapes[shape] == nil {
                throw ValidationError("--shape \(shape): expected \((Self.shapes.keys.sorted() + ["custom"]).joined(separator: ", "))")
            }
        }

        func run() throws {
            let source = URL(fileURLWithPath: tokenizer)
            let vocabulary = try Tokenizer.load(directory: source).vocabularySize
            let s = Self.shapes[shape] ?? (hidden!, intermediate!, layers!, heads!, kvHeads ?? heads!, 4096)
            let config = ModelConfig(hiddenSize: s.0, intermediateSize: s.1, layerCount: s.2, attentionHeadCount: s.3,
                                     keyValueHeadCount: s.4, headDim: s.0 / s.3, rmsNormEpsilon: 1e-5,
                                     maxPositionEmbeddings: s.5, vocabSize: vocabulary, tieWordEmbeddings: false)
            let staged = try StagedDirectory(destination: URL(fileURLWithPath: out), force: force,
                                             runID: String(ProcessInfo.processInfo.processIdentifier),
                                             inputs: [("--tokenizer", source)])
            do {
                try staged.create()
                try SyntheticCheckpoint.write(config: config, dtype: storage!, seed: seed, to: staged.staging)
                for name in ["tokenizer.json", "tokenizer_config.json"] {
                    let file = source.appendingPathComponent(name)
                    if FileManager.default.fileExists(atPath: file.path) { try copyResolvingLinks(file, to: staged.file(name)) }
                }
                try staged.commit()
            } catch {
                staged.discard()
                throw error
            }
            printResult("synthesized \(shape) (\(s.2) blocks, hidden \(s.0), vocabulary \(vocabulary), \(dtype), seed \(seed)) → \(out)")
        }
    }
}
