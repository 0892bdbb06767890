import Foundation
import Testing
import Tensor
@testable import Checkpoint

/// The real SmolLM2-135M-Instruct Q4_1 GGUF that deploy/setup downloads. A missing file fails
/// the suite with a hint instead of skipping it.
@Suite struct SmolLM2GGUFTests {
    @Test func headerAndConfig() throws {
        let file = try GGUFFile(url: TestFiles.smolLM2GGUF())
        #expect(file.version == 3)
        #expect(file.tensors.count == 272)  // 30 blocks × 9 tensors + token_embd + output_norm (tied head)
        #expect(try file.int("llama.block_count") == 30)
        #expect(try file.string("general.architecture") == "llama")
        #expect(Set(file.tensors.map(\.type)) == [.f32, .q4_1, .q8_0])
        #expect(try file.strings("tokenizer.ggml.tokens").count == 49152)

        let config = try ModelConfig(gguf: file)
        #expect(config.hiddenSize == 576 && config.intermediateSize == 1536 && config.layerCount == 30)
        #expect(config.attentionHeadCount == 9 && config.keyValueHeadCount == 3 && config.headDim == 64)
        #expect(config.ropeTheta == 100000 && config.rmsNormEpsilon == 1e-5)
        #expect(config.vocabSize == 49152 && config.tieWordEmbeddings && config.maxPositionEmbeddings == 8192)
    }

    @Test func tokenEmbeddingDequantizesToPlausibleValues() throws {
        let file = try GGUFFile(url: TestFiles.smolLM2GGUF())
        let info = try #require(file.tensor("token_embd.weight"))
        #expect(info.dims == [576, 49152] && info.typeName == "Q8_0")
        let embedding = try file.dequantize("token_embd.weight")
        #expect(embedding.rows == 49152 && embedding.cols == 576)
        #expect(embedding.elements.allSatisfy { $0.isFinite })
        let meanAbs = embedding.elements.reduce(0) { $0 + Double(abs($1)) } / Double(embedding.count)
        // Trained LLaMA-family embeddings have mean |w| of a few hundredths; all zeros or huge
        // values would mean a wrong block layout.
        #expect(meanAbs > 0.005 && meanAbs < 0.5, "mean |w| = \(meanAbs)")
    }

    @Test func everyBlockTensorHasItsHFShape() throws {
        let checkpoint = try GGUFCheckpoint(url: TestFiles.smolLM2GGUF())
        let c = checkpoint.config
        let expected: [String: (Int, Int)] = [
            "self_attn.q_proj.weight": (c.attentionHeadCount * c.headDim, c.hiddenSize),
            "self_attn.k_proj.weight": (c.keyValueHeadCount * c.headDim, c.hiddenSize),
            "self_attn.v_proj.weight": (c.keyValueHeadCount * c.headDim, c.hiddenSize),
            "self_attn.o_proj.weight": (c.hiddenSize, c.attentionHeadCount * c.headDim),
            "mlp.gate_proj.weight": (c.intermediateSize, c.hiddenSize),
            "mlp.up_proj.weight": (c.intermediateSize, c.hiddenSize),
            "mlp.down_proj.weight": (c.hiddenSize, c.intermediateSize),
            "input_layernorm.weight": (1, c.hiddenSize),
            "post_attention_layernorm.weight": (1, c.hiddenSize),
        ]
        for (suffix, shape) in expected {
            let m = try checkpoint.matrix("model.layers.29.\(suffix)")
            #expect(m.rows == shape.0 && m.cols == shape.1, "\(suffix): \(m.rows)x\(m.cols)")
            #expect(m.elements.allSatisfy { $0.isFinite }, "\(suffix)")
        }
        #expect(!checkpoint.contains("lm_head.weight"))
    }
}
