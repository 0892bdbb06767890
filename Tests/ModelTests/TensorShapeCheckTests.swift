import Foundation
@testable import Model
import Tensor
import Testing

/// Tensors that disagree with the architecture are refused by name (issue 10 item 1): a 3-D
/// projection, a 2-D norm, a bias the config does not declare, an embedding of the wrong width.
@Suite struct TensorShapeCheckTests {
    struct Source: WeightSource {
        var tensors: [String: (shape: [Int], matrix: Matrix)]
        func matrix(_ name: String) throws -> Matrix {
            guard let t = tensors[name] else { throw ModelError.missingTensor(name) }
            return t.matrix
        }
        func contains(_ name: String) -> Bool { tensors[name] != nil }
        func storedShape(_ name: String) throws -> [Int]? { tensors[name]?.shape }
    }

    let shape = BlockShape(hiddenSize: 8, intermediateSize: 12, heads: 2, kvHeads: 1, headDim: 4, rmsNormEpsilon: 1e-5)

    func block() -> Source {
        var t: [String: (shape: [Int], matrix: Matrix)] = [:]
        for l in BlockLinear.allCases {
            let s = shape.weightShape(l)
            t[l.weightName(block: 0)] = ([s.rows, s.cols], Matrix(rows: s.rows, cols: s.cols, repeating: 0.1))
        }
        for n in [ModelTensorName.inputNorm(block: 0), ModelTensorName.postAttentionNorm(block: 0)] {
            t[n] = ([8], Matrix(rows: 1, cols: 8, repeating: 1))
        }
        return Source(tensors: t)
    }

    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return (error as? ModelError)?.errorDescription ?? "\(error)" }
    }

    @Test func wellFormedBlockLoads() throws {
        _ = try DecoderBlock.load(index: 0, shape: shape, from: block())
    }

    @Test func refusals() {
        var s = block()
        s.tensors["model.layers.0.self_attn.q_proj.weight"]!.shape = [2, 4, 8]
        #expect(message { _ = try DecoderBlock.load(index: 0, shape: shape, from: s) }
            == "tensor 'model.layers.0.self_attn.q_proj.weight' has shape [2, 4, 8], the config implies [8, 8]")
        s = block()
        s.tensors["model.layers.0.input_layernorm.weight"]!.shape = [1, 8]
        #expect(message { _ = try DecoderBlock.load(index: 0, shape: shape, from: s) }
            == "tensor 'model.layers.0.input_layernorm.weight' has shape [1, 8], the config implies [8]")
        s = block()
        s.tensors["model.layers.0.self_attn.o_proj.bias"] = ([8], Matrix(rows: 1, cols: 8))
        #expect(message { _ = try DecoderBlock.load(index: 0, shape: shape, from: s) }
            == "tensor 'model.layers.0.self_attn.o_proj.bias' is not used by this architecture: config.json declares no bias on self_attn.o_proj")
        s = block()
        s.tensors["model.layers.0.self_attn.q_norm.weight"] = ([4], Matrix(rows: 1, cols: 4))
        #expect(message { _ = try DecoderBlock.load(index: 0, shape: shape, from: s) }.contains("q_norm.weight' is not used"))
    }

    @Test func modelTensorsAgainstConfig() {
        let arch = Architecture(shape: shape, blockCount: 1, vocabularySize: 10, tiedEmbeddings: false, maxPositions: 16, ropeBase: 10000)
        var s = Source(tensors: ["model.embed_tokens.weight": ([10, 6], Matrix(rows: 10, cols: 6)),
                                 "model.norm.weight": ([8], Matrix(rows: 1, cols: 8)),
                                 "lm_head.weight": ([10, 8], Matrix(rows: 10, cols: 8))])
        #expect(message { try arch.validateModelTensors(in: s) }
            == "tensor 'model.embed_tokens.weight' has shape [10, 6], the config implies [10, 8]")
        s.tensors["model.embed_tokens.weight"] = ([10, 8], Matrix(rows: 10, cols: 8))
        s.tensors["lm_head.weight"] = nil
        #expect(message { try arch.validateModelTensors(in: s) } == "tensor 'lm_head.weight' is not in the checkpoint")
        s.tensors["lm_head.weight"] = ([10, 8], Matrix(rows: 10, cols: 8))
        // Every block's tensors are checked from their shapes before any work (issue 26 item 4).
        #expect(message { try arch.validateModelTensors(in: s) } == "tensor 'model.layers.0.self_attn.q_proj.weight' is not in the checkpoint")
        for (name, tensor) in block().tensors { s.tensors[name] = tensor }
        #expect(message { try arch.validateModelTensors(in: s) } == "no error")
        s.tensors["model.layers.0.mlp.down_proj.weight"] = ([8, 11], Matrix(rows: 8, cols: 11))
        #expect(message { try arch.validateModelTensors(in: s) }
            == "tensor 'model.layers.0.mlp.down_proj.weight' has shape [8, 11], the config implies [8, 12]")
    }

    /// A source that lists its names: a block past `num_hidden_layers` is refused by name.
    @Test func blocksPastTheConfigAreRefused() {
        struct Listed: WeightSource {
            var base: Source
            func matrix(_ name: String) throws -> Matrix { try base.matrix(name) }
            func contains(_ name: String) -> Bool { base.contains(name) }
            func storedShape(_ name: String) throws -> [Int]? { try base.storedShape(name) }
            var listedTensorNames: [String]? { base.tensors.keys.sorted() }
        }
        let arch = Architecture(shape: shape, blockCount: 1, vocabularySize: 10, tiedEmbeddings: true, maxPositions: 16, ropeBase: 10000)
        var s = block()
        s.tensors["model.embed_tokens.weight"] = ([10, 8], Matrix(rows: 10, cols: 8))
        s.tensors["model.norm.weight"] = ([8], Matrix(rows: 1, cols: 8))
        #expect(message { try arch.validateModelTensors(in: Listed(base: s)) } == "no error")
        s.tensors["model.layers.1.input_layernorm.weight"] = ([8], Matrix(rows: 1, cols: 8))
        #expect(message { try arch.validateModelTensors(in: Listed(base: s)) }
            == "tensor 'model.layers.1.input_layernorm.weight' is not used by this architecture: config.json says num_hidden_layers 1, so blocks are 0…0")
        #expect(message { try arch.validateModelTensors(in: s) } == "no error", "control: a source that cannot list names is not checked for extra blocks")
    }
}
