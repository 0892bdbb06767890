import Foundation
import Tensor

/// Seeded random weights with a real architecture's shapes, for scaling experiments on models
/// that cannot be downloaded here (`owlprune synth`). Tensor t of the checkpoint (in write order)
/// draws from SplitMix64 seeded with `seed ⊕ (t · golden ratio)`, so any one tensor can be
/// regenerated alone. Linear weights are uniform in ±sqrt(3/cols) (unit-variance inputs give
/// unit-variance outputs), the embedding uniform in ±1, norms 1, biases (Qwen2) uniform in ±0.1 —
/// enough structure for the forward pass to stay finite and for pruning to have something to rank.
/// The family's extra tensors (Qwen2 q/k/v biases, Qwen3 q/k norms) come right after the weight
/// they belong to; Llama and Mistral checkpoints are unchanged by their existence.
public enum SyntheticCheckpoint {
    public static func write(config: ModelConfig, dtype: SafetensorsDType, seed: UInt64, to dir: URL) throws {
        var tensors: [(name: String, rows: Int, cols: Int, kind: Kind)] = [
            ("model.embed_tokens.weight", config.vocabSize, config.hiddenSize, .embedding),
        ]
        let q = config.attentionHeadCount * config.headDim, kv = config.keyValueHeadCount * config.headDim
        for b in 0..<config.layerCount {
            let p = "model.layers.\(b)."
            tensors.append((p + "input_layernorm.weight", 1, config.hiddenSize, .norm))
            for (name, rows) in [("q", q), ("k", kv), ("v", kv)] {
                tensors.append((p + "self_attn.\(name)_proj.weight", rows, config.hiddenSize, .linear))
                if config.family.hasQueryKeyValueBias { tensors.append((p + "self_attn.\(name)_proj.bias", 1, rows, .bias)) }
            }
            if config.family.hasQueryKeyNorm {
                tensors += [(p + "self_attn.q_norm.weight", 1, config.headDim, .norm),
                            (p + "self_attn.k_norm.weight", 1, config.headDim, .norm)]
            }
            tensors += [
                (p + "self_attn.o_proj.weight", config.hiddenSize, q, .linear),
                (p + "post_attention_layernorm.weight", 1, config.hiddenSize, .norm),
                (p + "mlp.gate_proj.weight", config.intermediateSize, config.hiddenSize, .linear),
                (p + "mlp.up_proj.weight", config.intermediateSize, config.hiddenSize, .linear),
                (p + "mlp.down_proj.weight", config.hiddenSize, config.intermediateSize, .linear),
            ]
        }
        tensors.append(("model.norm.weight", 1, config.hiddenSize, .norm))
        if !config.tieWordEmbeddings { tensors.append(("lm_head.weight", config.vocabSize, config.hiddenSize, .linear)) }

        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var written = config
        written.torchDtype = DType(dtype)?.torchName
        try written.jsonData().write(to: dir.appendingPathComponent("config.json"))
        let entries = tensors.map {
            SafetensorsWriter.Entry(name: $0.name, dtype: dtype, shape: $0.kind.isVector ? [$0.cols] : [$0.rows, $0.cols])
        }
        let writer = try SafetensorsWriter(url: dir.appendingPathComponent("model.safetensors"), entries: entries,
                                           metadata: ["format": "pt"])
        for (t, tensor) in tensors.enumerated() {
            var g = SplitMix64(seed: seed ^ (UInt64(t) &* 0x9E37_79B9_7F4A_7C15))
            let scale: Float = switch tensor.kind {
            case .norm: 0
            case .bias: 0.1
            case .embedding: 1
            case .linear: (3 / Float(tensor.cols)).squareRoot()
            }
            let count = tensor.rows * tensor.cols
            let elements = tensor.kind == .norm ? [Float](repeating: 1, count: count)
                                                : (0..<count).map { _ in g.unitFloat() * scale }
            try writer.write(tensor.name, Matrix(rows: tensor.rows, cols: tensor.cols, elements: elements))
        }
        try writer.finish()
    }

    enum Kind {
        case embedding, norm, linear, bias
        var isVector: Bool { self == .norm || self == .bias }
    }
}
