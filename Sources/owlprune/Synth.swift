import OwlPruneKit
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

        @Option(help: "A published model's shape, or custom (with --hidden, --intermediate, --layers, --heads).")
        var shape: ShapeName
        @Option(help: "custom: the model family.") var family: ModelFamily = .llama
        @Option(help: "Dtype of the weights.") var dtype: DType = .bf16
        @Option(help: "Seed of the weights.") var seed: UInt64 = 0
        @Option(help: "Output directory.") var out: String
        @Option(help: "Checkpoint whose tokenizer files (and vocabulary size) are used (default: models/smollm2-135m of the current directory or of the repository the binary was built in).")
        var tokenizer: String?
        @Option(help: "custom: hidden size") var hidden: Int?
        @Option(help: "custom: intermediate size") var intermediate: Int?
        @Option(help: "Blocks (required for custom; for a named shape, fewer blocks of the same width, for quick scaling runs)")
        var layers: Int?
        @Option(help: "custom: attention heads") var heads: Int?
        @Option(help: "custom: key/value heads") var kvHeads: Int?
        @Flag(help: "Replace an existing output directory.") var force = false

        /// Real shapes (the published config.json of each model). llama-1b is TinyLlama-1.1B's
        /// layout, llama-7b and llama-13b are LLaMA-1/2's, llama3-8b is Llama-3.1-8B (with its
        /// RoPE scaling), qwen2.5-7b has Qwen2's q/k/v biases, qwen3-8b Qwen3's q/k norms and
        /// head_dim 128, mistral-7b is v0.3 (no sliding window). The vocabulary comes from
        /// `--tokenizer`, so the embedding and head are that tokenizer's size, not the model's.
        struct Shape {
            var family: ModelFamily = .llama
            var hidden: Int, intermediate: Int, blocks: Int, heads: Int, kvHeads: Int, maxPositions: Int
            var headDim: Int? = nil
            var ropeTheta: Double = 10000
            var ropeScaling: RopeScaling? = nil
            var epsilon: Double = 1e-5
        }

        /// `--shape`: the published shapes below, and custom.
        enum ShapeName: String, CaseIterable, ExpressibleByArgument {
            case smollm2_135m = "smollm2-135m", llama_1b = "llama-1b", llama_7b = "llama-7b", llama_13b = "llama-13b"
            case llama3_8b = "llama3-8b", qwen2_5_7b = "qwen2.5-7b", qwen3_8b = "qwen3-8b", mistral_7b = "mistral-7b"
            case custom

            /// Nil for custom, whose dimensions come from the flags.
            var dimensions: Shape? { Synth.shapes[self] }
        }

        static let shapes: [ShapeName: Shape] = [
            .smollm2_135m: Shape(hidden: 576, intermediate: 1536, blocks: 30, heads: 9, kvHeads: 3, maxPositions: 8192,
                                  ropeTheta: 100000),
            .llama_1b: Shape(hidden: 2048, intermediate: 5632, blocks: 22, heads: 32, kvHeads: 4, maxPositions: 2048),
            .llama_7b: Shape(hidden: 4096, intermediate: 11008, blocks: 32, heads: 32, kvHeads: 32, maxPositions: 4096),
            .llama_13b: Shape(hidden: 5120, intermediate: 13824, blocks: 40, heads: 40, kvHeads: 40, maxPositions: 4096),
            .llama3_8b: Shape(hidden: 4096, intermediate: 14336, blocks: 32, heads: 32, kvHeads: 8, maxPositions: 131072,
                               ropeTheta: 500000, ropeScaling: .llama3(.init(factor: 8, lowFrequencyFactor: 1,
                                                                            highFrequencyFactor: 4, originalMaxPositionEmbeddings: 8192))),
            .qwen2_5_7b: Shape(family: .qwen2, hidden: 3584, intermediate: 18944, blocks: 28, heads: 28, kvHeads: 4,
                                maxPositions: 32768, ropeTheta: 1_000_000, epsilon: 1e-6),
            .qwen3_8b: Shape(family: .qwen3, hidden: 4096, intermediate: 12288, blocks: 36, heads: 32, kvHeads: 8,
                              maxPositions: 40960, headDim: 128, ropeTheta: 1_000_000, epsilon: 1e-6),
            .mistral_7b: Shape(family: .mistral, hidden: 4096, intermediate: 14336, blocks: 32, heads: 32, kvHeads: 8,
                                maxPositions: 32768, ropeTheta: 1_000_000),
        ]

        func validate() throws {

            guard !ParseOnly.active else { return }
            if shape == .custom {
                guard let h = hidden, let i = intermediate, let l = layers, let n = heads, h > 0, i > 0, l > 0, n > 0,
                      h % n == 0, n % (kvHeads ?? n) == 0 else {
                    throw ValidationError("--shape custom needs --hidden, --intermediate, --layers, --heads (dividing hidden) and optionally --kv-heads (dividing heads)")
                }
            } else if let l = layers, l <= 0 {
                throw ValidationError("--layers \(l): must be positive")
            }
        }

        /// `deploy/setup` puts SmolLM2 at `<repository>/models/smollm2-135m`. Without `--tokenizer`
        /// that is looked for under the current directory and then beside the binary's build
        /// folder (`<repository>/.build/<triple>/release/owlprune`), so `synth` works from any
        /// directory of a set-up clone; elsewhere it names the flag it needs.
        static func tokenizerSource(_ given: String?) throws -> URL {
            if let given { return URL(fileURLWithPath: given) }
            let relative = "models/smollm2-135m"
            let fm = FileManager.default
            var candidates = [URL(fileURLWithPath: fm.currentDirectoryPath).appendingPathComponent(relative)]
            var dir = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            while dir.path != "/" {
                candidates.append(dir.appendingPathComponent(relative))
                dir.deleteLastPathComponent()
            }
            if let found = candidates.first(where: { fm.fileExists(atPath: $0.appendingPathComponent("tokenizer.json").path) }) {
                return found
            }
            throw ValidationError("--tokenizer DIR is needed: no \(relative)/tokenizer.json under the current directory or the binary's repository (run deploy/setup, or name any checkpoint directory with a tokenizer.json)")
        }

        func run() throws {
            let source = try Self.tokenizerSource(tokenizer)
            let vocabulary = try Tokenizer.load(directory: source).vocabularySize
            var s = shape.dimensions ?? Shape(family: family, hidden: hidden!, intermediate: intermediate!,
                                                blocks: layers!, heads: heads!, kvHeads: kvHeads ?? heads!, maxPositions: 4096)
            if let layers { s.blocks = layers }
            let config = ModelConfig(family: s.family, hiddenSize: s.hidden, intermediateSize: s.intermediate, layerCount: s.blocks,
                                     attentionHeadCount: s.heads, keyValueHeadCount: s.kvHeads,
                                     headDim: s.headDim ?? s.hidden / s.heads, rmsNormEpsilon: s.epsilon,
                                     ropeTheta: s.ropeTheta, ropeScaling: s.ropeScaling,
                                     maxPositionEmbeddings: s.maxPositions, vocabSize: vocabulary, tieWordEmbeddings: false)
            try SyntheticCheckpoint.checkFits(config: config, dtype: dtype.storage, destination: URL(fileURLWithPath: out))
            let staged = try StagedDirectory(destination: URL(fileURLWithPath: out), force: force,
                                             runID: StagedDirectory.newRunID(),
                                             inputs: [("--tokenizer", source)])
            do {
                try staged.create()
                try SyntheticCheckpoint.write(config: config, dtype: dtype.storage, seed: seed, to: staged.staging)
                for name in ["tokenizer.json", "tokenizer_config.json"] {
                    let file = source.appendingPathComponent(name)
                    if FileManager.default.fileExists(atPath: file.path) { try copyResolvingLinks(file, to: staged.file(name)) }
                }
                try staged.commit()
            } catch {
                staged.discard()
                throw error
            }
            printResult("synthesized \(shape.rawValue) (\(s.family.rawValue), \(s.blocks) blocks, hidden \(s.hidden), vocabulary \(vocabulary), \(dtype.rawValue), seed \(seed)) → \(out)")
        }
    }
}
