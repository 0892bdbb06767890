import Checkpoint
import Foundation
@testable import Model
import Tensor
import TestSupport
import Testing

/// owlprune's forward pass against transformers' on tiny random models of every architecture,
/// built and run by transformers itself (`Tests/Fixtures/transformers/make_fixtures.py`, which
/// says what each model exercises): Llama 3 RoPE scaling, linear/dynamic/YaRN RoPE, Mistral's
/// sliding window, Qwen2's q/k/v biases and per-block windows, Qwen3's q/k norms and wide heads,
/// tied and untied heads. Tolerances: logits within 1e-4 of the largest |logit| (max abs over
/// every position), NLL sum within 1e-5 relative.
@Suite struct TransformersParityTests {
    static let root = RepoPaths.root.appendingPathComponent("Tests/Fixtures/transformers")
    static let models = ["llama3", "llama-linear", "llama-dynamic", "llama-yarn", "mistral", "qwen2", "qwen3"]

    struct Reference: Decodable {
        let token_ids: [Int]
        let nll_sum: Double
        let mean_nll: Double
        let ln_vocab: Double
    }

    /// Logits of one window, run as the pipeline runs it: embedding, every block, final norm and head.
    static func forward(_ dir: URL, tokens: [Int]) throws -> (logits: Matrix, nll: [Float], architecture: Architecture) {
        let checkpoint = try CheckpointDirectory(url: dir)
        let architecture = try Architecture(config: ModelConfig(contentsOf: dir.appendingPathComponent("config.json")))
        let rope = architecture.ropeTable(positions: tokens.count)
        var h = try Embedding(table: checkpoint.matrix(ModelTensorName.embedding))(tokens)
        for b in 0..<architecture.blockCount {
            h = try DecoderBlock.load(index: b, shape: architecture.shape, from: checkpoint).forward(h, rope: rope)
        }
        let head = OutputHead(norm: try checkpoint.matrix(ModelTensorName.finalNorm).elements,
                              weight: try checkpoint.matrix(architecture.headWeightName),
                              epsilon: architecture.shape.rmsNormEpsilon)
        return (head.logits(h), head.windowNLL(hidden: h, tokens: tokens), architecture)
    }

    @Test(arguments: models) func logitsAndNLLMatchTransformers(_ name: String) throws {
        let dir = try RepoPaths.require(Self.root.appendingPathComponent(name))
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: dir.appendingPathComponent("reference.json")))
        // Near-uniform logits would hide any architecture detail (issue 8 item 4).
        #expect(abs(reference.mean_nll - reference.ln_vocab) > 0.5)
        let want = try Data(contentsOf: dir.appendingPathComponent("logits.f32")).withUnsafeBytes { raw in
            Array(raw.bindMemory(to: Float.self))
        }
        let got = try Self.forward(dir, tokens: reference.token_ids)
        #expect(got.logits.count == want.count)
        let scale = want.map(abs).max() ?? 1
        let worst = zip(got.logits.elements, want).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-4 * scale, "\(name): max |Δlogit| \(worst) against max |logit| \(scale)")
        let sum = got.nll.reduce(0.0) { $0 + Double($1) }
        print("\(name): max |Δlogit| \(worst) (\(worst / scale) of max |logit| \(scale)); NLL sum \(sum) vs transformers \(reference.nll_sum) (relative \(abs(sum - reference.nll_sum) / reference.nll_sum))")
        #expect(abs(sum - reference.nll_sum) <= 1e-5 * abs(reference.nll_sum),
                "\(name): NLL sum \(sum), transformers \(reference.nll_sum)")
    }

    /// The transformers-4 and transformers-5 layouts of each configuration read as one model.
    @Test(arguments: models) func bothConfigGenerationsAgree(_ name: String) throws {
        let dir = Self.root.appendingPathComponent(name)
        let v5 = try ModelConfig(contentsOf: dir.appendingPathComponent("config.json"))
        let v4 = try ModelConfig(contentsOf: dir.appendingPathComponent("config.v4.json"))
        #expect(v4 == v5)
        #expect(String(decoding: try Data(contentsOf: dir.appendingPathComponent("config.json")), as: UTF8.self)
            .contains("rope_parameters"))
    }

    /// The windows the fixtures are built to reach really are reached, and the note says so.
    @Test func slidingWindowNotes() throws {
        let mistral = try Architecture(config: ModelConfig(contentsOf: Self.root.appendingPathComponent("mistral/config.json")))
        #expect(mistral.shape.slidingBlocks == [0, 1, 2, 3] && mistral.shape.slidingWindow == 16)
        #expect(mistral.slidingWindowNote(sequenceLength: 48)?.contains("every block") == true)
        #expect(mistral.slidingWindowNote(sequenceLength: 16)?.contains("never reached") == true)
        let qwen2 = try Architecture(config: ModelConfig(contentsOf: Self.root.appendingPathComponent("qwen2/config.json")))
        #expect(qwen2.shape.slidingBlocks == [2, 3] && qwen2.shape.attentionWindow(block: 1) == nil)
        #expect(qwen2.shape.queryKeyValueBias && !qwen2.shape.queryKeyNorm && qwen2.tiedEmbeddings)
        let qwen3 = try Architecture(config: ModelConfig(contentsOf: Self.root.appendingPathComponent("qwen3/config.json")))
        #expect(qwen3.shape.headDim == 32 && qwen3.shape.queryKeyNorm && qwen3.slidingWindowNote(sequenceLength: 48) == nil)
    }
}
