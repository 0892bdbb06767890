import Foundation
import Testing
import Tensor
@testable import Checkpoint

@Suite struct TensorNameTests {
    static let pairs: [(String, String)] = [
        ("token_embd.weight", "model.embed_tokens.weight"),
        ("output_norm.weight", "model.norm.weight"),
        ("output.weight", "lm_head.weight"),
        ("blk.0.attn_q.weight", "model.layers.0.self_attn.q_proj.weight"),
        ("blk.1.attn_k.weight", "model.layers.1.self_attn.k_proj.weight"),
        ("blk.2.attn_v.weight", "model.layers.2.self_attn.v_proj.weight"),
        ("blk.3.attn_output.weight", "model.layers.3.self_attn.o_proj.weight"),
        ("blk.10.ffn_gate.weight", "model.layers.10.mlp.gate_proj.weight"),
        ("blk.11.ffn_up.weight", "model.layers.11.mlp.up_proj.weight"),
        ("blk.29.ffn_down.weight", "model.layers.29.mlp.down_proj.weight"),
        ("blk.7.attn_norm.weight", "model.layers.7.input_layernorm.weight"),
        ("blk.7.ffn_norm.weight", "model.layers.7.post_attention_layernorm.weight"),
    ]

    @Test func mapsBothDirections() {
        for (gguf, hf) in Self.pairs {
            #expect(TensorName.hfName(fromGGUF: gguf) == hf)
            #expect(TensorName.ggufName(fromHF: hf) == gguf)
        }
    }

    @Test func rejectsNamesOutsideTheTable() {
        for name in ["rope_freqs.weight", "blk.x.attn_q.weight", "blk.01.attn_q.weight", "blk.-1.attn_q.weight", "blk.0.attn_output.bias"] {
            #expect(TensorName.hfName(fromGGUF: name) == nil, "\(name)")
        }
        for name in ["model.layers.0.self_attn.rotary_emb.inv_freq", "model.layers.q.mlp.up_proj.weight", "embed_tokens.weight"] {
            #expect(TensorName.ggufName(fromHF: name) == nil, "\(name)")
        }
    }

    /// Rows numbered 0…n−1 in a single column, so the row order is visible.
    static func numbered(_ n: Int) -> Matrix { Matrix(rows: n, cols: 1, elements: (0..<n).map(Float.init)) }

    @Test func permuteInterleavesHalvesOfEachHead() {
        // One head of 6 rows: reshape(1, 2, 3).swapaxes(1, 2) lists (j=0,i=0), (1,0), (0,1), (1,1), …
        // i.e. rows 0, 3, 1, 4, 2, 5.
        #expect(TensorName.permuteQK(Self.numbered(6), headCount: 1).elements == [0, 3, 1, 4, 2, 5])
        // Two heads of 4 rows: each head on its own, rows 0, 2, 1, 3 and 4, 6, 5, 7.
        #expect(TensorName.permuteQK(Self.numbered(8), headCount: 2).elements == [0, 2, 1, 3, 4, 6, 5, 7])
    }

    @Test func unpermuteRestoresHFOrder() {
        // GGUF rows p0…p5 of one head hold HF rows 0, 3, 1, 4, 2, 5; HF row j·3+i is GGUF row 2i+j,
        // so the HF order is p0, p2, p4, p1, p3, p5.
        #expect(TensorName.unpermuteQK(Self.numbered(6), headCount: 1).elements == [0, 2, 4, 1, 3, 5])
        // With several columns whole rows move.
        let w = Matrix([[1, 2], [3, 4], [5, 6], [7, 8]])
        #expect(TensorName.unpermuteQK(w, headCount: 1) == Matrix([[1, 2], [5, 6], [3, 4], [7, 8]]))
    }

    @Test func permuteAndUnpermuteAreInverse() {
        let w = Matrix(rows: 9 * 8, cols: 3, elements: (0..<(9 * 8 * 3)).map { Float($0) * 0.5 - 7 })
        for heads in [1, 3, 9, 36] {
            #expect(TensorName.unpermuteQK(TensorName.permuteQK(w, headCount: heads), headCount: heads) == w)
            #expect(TensorName.permuteQK(TensorName.unpermuteQK(w, headCount: heads), headCount: heads) == w)
        }
        #expect(TensorName.permuteQK(w, headCount: 3) != w)
    }

    /// A one-block llama GGUF with 2 query heads, 1 key/value head, head_dim 4 and tied embeddings.
    static func tinyLlama(hfQ: Matrix, hfK: Matrix) -> TinyGGUF {
        var g = TinyGGUF()
        g.add("general.architecture", string: "llama")
        g.add("llama.embedding_length", uint32: 8)
        g.add("llama.feed_forward_length", uint32: 16)
        g.add("llama.block_count", uint32: 1)
        g.add("llama.attention.head_count", uint32: 2)
        g.add("llama.attention.head_count_kv", uint32: 1)
        g.add("llama.context_length", uint32: 64)
        g.add("llama.attention.layer_norm_rms_epsilon", float32: 1e-5)
        g.add("llama.rope.freq_base", float32: 100000)
        g.add("tokenizer.ggml.tokens", strings: ["<s>", "</s>", "a"])
        g.add("tokenizer.ggml.bos_token_id", uint32: 0)
        g.add("tokenizer.ggml.eos_token_id", uint32: 1)
        let q = TensorName.permuteQK(hfQ, headCount: 2), k = TensorName.permuteQK(hfK, headCount: 1)
        g.addF32("token_embd.weight", dims: [8, 3], (0..<24).map(Float.init))
        g.addF32("blk.0.attn_q.weight", dims: [8, 8], q.elements)
        g.addF32("blk.0.attn_k.weight", dims: [8, 4], k.elements)
        g.addF32("output_norm.weight", dims: [8], [Float](repeating: 1, count: 8))
        return g
    }

    @Test func ggufCheckpointServesHFNamesLayoutAndRowOrder() throws {
        let dir = try TestFiles.makeTemporaryDirectory()
        defer { TestFiles.remove(dir) }
        let hfQ = Matrix(rows: 8, cols: 8, elements: (0..<64).map(Float.init))
        let hfK = Matrix(rows: 4, cols: 8, elements: (0..<32).map { Float(-$0) })
        let checkpoint = try GGUFCheckpoint(url: Self.tinyLlama(hfQ: hfQ, hfK: hfK).write(in: dir))
        #expect(checkpoint.tensorNames == ["model.embed_tokens.weight", "model.layers.0.self_attn.k_proj.weight",
                                           "model.layers.0.self_attn.q_proj.weight", "model.norm.weight"])
        #expect(try checkpoint.matrix("model.layers.0.self_attn.q_proj.weight") == hfQ)
        #expect(try checkpoint.matrix("model.layers.0.self_attn.k_proj.weight") == hfK)
        let embed = try checkpoint.matrix("model.embed_tokens.weight")
        #expect(embed.rows == 3 && embed.cols == 8 && embed[1, 0] == 8)
        #expect(!checkpoint.contains("lm_head.weight") && checkpoint.contains("model.norm.weight"))

        let c = checkpoint.config
        #expect(c == ModelConfig(hiddenSize: 8, intermediateSize: 16, layerCount: 1, attentionHeadCount: 2, keyValueHeadCount: 1,
                                 headDim: 4, rmsNormEpsilon: 1e-5, ropeTheta: 100000, maxPositionEmbeddings: 64, vocabSize: 3,
                                 tieWordEmbeddings: true, bosTokenIds: [0], eosTokenIds: [1]))
        // The encoded config.json decodes back to the same config.
        #expect(try ModelConfig(jsonData: c.jsonData()) == c)
    }

    @Test func ggufWithOutputWeightIsUntiedAndNonLlamaIsRejected() throws {
        let dir = try TestFiles.makeTemporaryDirectory()
        defer { TestFiles.remove(dir) }
        var g = Self.tinyLlama(hfQ: Matrix(rows: 8, cols: 8), hfK: Matrix(rows: 4, cols: 8))
        g.addF32("output.weight", dims: [8, 3], [Float](repeating: 0, count: 24))
        #expect(try ModelConfig(gguf: GGUFFile(url: g.write(in: dir))).tieWordEmbeddings == false)

        var other = TinyGGUF()
        other.add("general.architecture", string: "gpt2")
        let file = try GGUFFile(url: other.write(in: dir, name: "gpt2.gguf"))
        let error = #expect(throws: CheckpointError.self) { try ModelConfig(gguf: file) }
        #expect(error?.localizedDescription == "gpt2.gguf: architecture 'gpt2' is not supported (only 'llama', 'qwen2', 'qwen3')")
    }
}
