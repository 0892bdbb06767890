import Foundation
import Testing
import Tensor
@testable import Checkpoint

/// Issue 25: GGUF import of `qwen2`, `qwen3` and what llama.cpp writes for Mistral, on tiny
/// hand-written files: the config transformers' GGUF loader would build, the q/k row order
/// (permuted only under `llama`), the family's extra tensors, and refusals that name what is wrong.
@Suite struct GGUFArchitectureTests {
    /// One block, hidden 8, 2 query heads and 1 key/value head of head_dim 4, FFN 16, 3 tokens,
    /// untied head. Every tensor holds distinct values so a row-order mistake shows.
    static func tiny(arch: String, name: String? = nil, q: Matrix, k: Matrix, keyLength: UInt32? = nil) -> TinyGGUF {
        var g = TinyGGUF()
        g.add("general.architecture", string: arch)
        if let name { g.add("general.name", string: name) }
        g.add("\(arch).embedding_length", uint32: 8)
        g.add("\(arch).feed_forward_length", uint32: 16)
        g.add("\(arch).block_count", uint32: 1)
        g.add("\(arch).attention.head_count", uint32: 2)
        g.add("\(arch).attention.head_count_kv", uint32: 1)
        if let keyLength { g.add("\(arch).attention.key_length", uint32: keyLength) }
        g.add("\(arch).context_length", uint32: 64)
        g.add("\(arch).attention.layer_norm_rms_epsilon", float32: 1e-6)
        g.add("\(arch).rope.freq_base", float32: 1_000_000)
        g.add("tokenizer.ggml.tokens", strings: ["<s>", "</s>", "a"])
        let headDim = Int(keyLength ?? 4)
        func values(_ n: Int, _ base: Float) -> [Float] { (0..<n).map { base + Float($0) } }
        g.addF32("token_embd.weight", dims: [8, 3], values(24, 1000))
        g.addF32("output.weight", dims: [8, 3], values(24, 2000))
        g.addF32("output_norm.weight", dims: [8], values(8, 1))
        g.addF32("blk.0.attn_q.weight", dims: [8, UInt64(2 * headDim)], q.elements)
        g.addF32("blk.0.attn_k.weight", dims: [8, UInt64(headDim)], k.elements)
        g.addF32("blk.0.attn_v.weight", dims: [8, UInt64(headDim)], values(8 * headDim, 3000))
        g.addF32("blk.0.attn_output.weight", dims: [UInt64(2 * headDim), 8], values(16 * headDim, 4000))
        g.addF32("blk.0.ffn_gate.weight", dims: [8, 16], values(128, 5000))
        g.addF32("blk.0.ffn_up.weight", dims: [8, 16], values(128, 6000))
        g.addF32("blk.0.ffn_down.weight", dims: [16, 8], values(128, 7000))
        g.addF32("blk.0.attn_norm.weight", dims: [8], values(8, 1))
        g.addF32("blk.0.ffn_norm.weight", dims: [8], values(8, 1))
        if arch == "qwen2" {
            g.addF32("blk.0.attn_q.bias", dims: [UInt64(2 * headDim)], values(2 * headDim, 10))
            g.addF32("blk.0.attn_k.bias", dims: [UInt64(headDim)], values(headDim, 20))
            g.addF32("blk.0.attn_v.bias", dims: [UInt64(headDim)], values(headDim, 30))
        }
        if arch == "qwen3" {
            g.addF32("blk.0.attn_q_norm.weight", dims: [UInt64(headDim)], values(headDim, 40))
            g.addF32("blk.0.attn_k_norm.weight", dims: [UInt64(headDim)], values(headDim, 50))
        }
        return g
    }

    static let q = Matrix(rows: 8, cols: 8, elements: (0..<64).map(Float.init))
    static let k = Matrix(rows: 4, cols: 8, elements: (0..<32).map { Float(-$0) })

    static func open(_ g: TinyGGUF, _ name: String = "tiny.gguf") throws -> (GGUFCheckpoint, URL) {
        let dir = try TestFiles.makeTemporaryDirectory()
        return (try GGUFCheckpoint(url: g.write(in: dir, name: name)), dir)
    }

    @Test func qwen2KeepsRowOrderAndCarriesBiases() throws {
        let (checkpoint, dir) = try Self.open(Self.tiny(arch: "qwen2", q: Self.q, k: Self.k))
        defer { TestFiles.remove(dir) }
        try checkpoint.checkConsistency()
        let c = checkpoint.config
        #expect(c == ModelConfig(family: .qwen2, hiddenSize: 8, intermediateSize: 16, layerCount: 1, attentionHeadCount: 2,
                                 keyValueHeadCount: 1, headDim: 4, rmsNormEpsilon: 1e-6, ropeTheta: 1_000_000,
                                 maxPositionEmbeddings: 64, vocabSize: 3, tieWordEmbeddings: false))
        #expect(c.architectures == ["Qwen2ForCausalLM"] && c.slidingWindow == nil)
        // llama.cpp's Qwen2Model writes q/k in HF order: nothing to undo.
        #expect(try checkpoint.matrix("model.layers.0.self_attn.q_proj.weight") == Self.q)
        #expect(try checkpoint.matrix("model.layers.0.self_attn.k_proj.weight") == Self.k)
        #expect(try checkpoint.matrix("model.layers.0.self_attn.k_proj.bias").elements == [20, 21, 22, 23])
        #expect(checkpoint.tensorNames.contains("lm_head.weight"))
        #expect(try ModelConfig(jsonData: c.jsonData()) == c)
    }

    @Test func qwen2MissingBiasAndOddKeyLengthAreRefused() throws {
        var g = Self.tiny(arch: "qwen2", q: Self.q, k: Self.k)
        g.tensors.removeAll { $0.name == "blk.0.attn_v.bias" }
        let (checkpoint, dir) = try Self.open(g)
        defer { TestFiles.remove(dir) }
        let error = #expect(throws: CheckpointError.self) { try checkpoint.checkConsistency() }
        #expect(error?.localizedDescription == "tiny.gguf: tensor 'blk.0.attn_v.bias': missing; the metadata describes a 1-block model that needs it")

        let odd = Self.tiny(arch: "qwen2", q: Matrix(rows: 16, cols: 8), k: Matrix(rows: 8, cols: 8), keyLength: 8)
        let url = try odd.write(in: dir, name: "odd.gguf")
        let refusal = #expect(throws: CheckpointError.self) { try ModelConfig(gguf: GGUFFile(url: url)) }
        #expect(refusal?.localizedDescription
                == "odd.gguf: qwen2.attention.key_length 8 differs from embedding_length / head_count = 4, which Qwen2 assumes")
    }

    @Test func qwen3TakesKeyLengthAndQKNorms() throws {
        // head_dim 8 with hidden 8 and 2 heads: q_proj is 16 × 8, as in Qwen3 where head_dim ≠ hidden/heads.
        let q = Matrix(rows: 16, cols: 8, elements: (0..<128).map(Float.init))
        let k = Matrix(rows: 8, cols: 8, elements: (0..<64).map { Float(-$0) })
        let (checkpoint, dir) = try Self.open(Self.tiny(arch: "qwen3", q: q, k: k, keyLength: 8))
        defer { TestFiles.remove(dir) }
        try checkpoint.checkConsistency()
        #expect(checkpoint.config.family == .qwen3 && checkpoint.config.headDim == 8)
        #expect(try checkpoint.matrix("model.layers.0.self_attn.q_proj.weight") == q)
        #expect(try checkpoint.matrix("model.layers.0.self_attn.q_norm.weight").elements == (0..<8).map { 40 + Float($0) })
        #expect(checkpoint.tensorNames.contains("model.layers.0.self_attn.k_norm.weight"))
    }

    @Test func llamaNamedMistralBecomesMistralAndIsUnpermuted() throws {
        let permuted = Self.tiny(arch: "llama", name: "mistral", q: TensorName.permuteQK(Self.q, headCount: 2),
                                 k: TensorName.permuteQK(Self.k, headCount: 1))
        let (mistral, dir) = try Self.open(permuted)
        defer { TestFiles.remove(dir) }
        try mistral.checkConsistency()
        #expect(mistral.config.family == .mistral && mistral.config.architectures == ["MistralForCausalLM"])
        #expect(mistral.config.slidingWindow == 4096 && mistral.config.slidingBlocks == [0])
        #expect(try mistral.matrix("model.layers.0.self_attn.q_proj.weight") == Self.q)
        #expect(try mistral.matrix("model.layers.0.self_attn.k_proj.weight") == Self.k)
        // transformers tests `"mistral" in [general.name]`: any other spelling stays Llama.
        let named = Self.tiny(arch: "llama", name: "Mistral 7B", q: Self.q, k: Self.k)
        let llama = try GGUFCheckpoint(url: named.write(in: dir, name: "named.gguf"))
        #expect(llama.config.family == .llama && llama.config.slidingWindow == nil)
        // Control: the same bytes under qwen2 are not unpermuted.
        var asQwen = Self.tiny(arch: "qwen2", q: TensorName.permuteQK(Self.q, headCount: 2), k: Self.k)
        asQwen.tensors.removeAll { $0.name.hasSuffix(".bias") }
        let qwen = try GGUFCheckpoint(url: asQwen.write(in: dir, name: "qwen.gguf"))
        #expect(try qwen.matrix("model.layers.0.self_attn.q_proj.weight") != Self.q)
    }

    @Test func iQuantsAreRefusedByName() throws {
        // 512 data bytes: more than any of these blocks, so only the type can be refused.
        for (raw, name) in [(UInt32(16), "IQ2_XXS"), (23, "IQ4_XS"), (39, "MXFP4")] {
            var g = TinyGGUF()
            g.tensors.append((name: "blk.0.ffn_up.weight", dims: [256], type: raw, data: [UInt8](repeating: 0, count: 512)))
            let message = try GGUFFileTests.openingFails(g)
            #expect(message == "tiny.gguf: tensor 'blk.0.ffn_up.weight' has ggml type \(name) (\(raw)), which owlprune cannot read", "\(message)")
        }
    }
}
