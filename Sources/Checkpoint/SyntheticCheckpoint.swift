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
    /// The checkpoint's size in bytes, computed with overflow checks before any tensor list is
    /// built (issue 26 item 4): `--hidden 2^62` used to trap on a multiplication and `--layers
    /// 2^63` to grow the list until memory ran out. Nil when some count overflows 64 bits.
    public static func byteCount(config: ModelConfig, dtype: SafetensorsDType) -> Int? {
        func mul(_ values: Int...) -> Int? {
            values.reduce(Optional(1)) { acc, v in acc.flatMap { a in
                let (r, o) = a.multipliedReportingOverflow(by: v); return o || v < 0 ? nil : r } }
        }
        func add(_ values: Int?...) -> Int? {
            values.reduce(Optional(0)) { acc, v in acc.flatMap { a in v.flatMap { b in
                let (r, o) = a.addingReportingOverflow(b); return o ? nil : r } } }
        }
        let h = config.hiddenSize, i = config.intermediateSize, d = config.headDim
        guard let q = mul(config.attentionHeadCount, d), let kv = mul(config.keyValueHeadCount, d),
              let perBlock = add(mul(2, h), mul(q, h), mul(2, kv, h), mul(h, q), mul(3, i, h),
                                 config.family.hasQueryKeyValueBias ? add(q, mul(2, kv)) : 0,
                                 config.family.hasQueryKeyNorm ? mul(2, d) : 0),
              let embeddings = mul(config.tieWordEmbeddings ? 1 : 2, config.vocabSize, h),
              let elements = add(mul(perBlock, config.layerCount), embeddings, h) else { return nil }
        return mul(elements, dtype.byteSize)
    }

    /// Refuses a shape whose size overflows, or that does not fit on the file system that will
    /// hold `destination`, before anything is written (not half-way through with a full disk).
    public static func checkFits(config: ModelConfig, dtype: SafetensorsDType, destination: URL) throws {
        guard let bytes = byteCount(config: config, dtype: dtype) else {
            throw CheckpointError.sizeOverflow(file: destination.path, what: "the checkpoint's size (\(config.layerCount) blocks, hidden \(config.hiddenSize), intermediate \(config.intermediateSize), vocabulary \(config.vocabSize))")
        }
        var fs = statvfs()
        let parent = destination.deletingLastPathComponent().path
        if statvfs(parent, &fs) == 0 {
            let free = Double(fs.f_bavail) * Double(fs.f_frsize)
            if Double(bytes) > free {
                throw CheckpointError.unwritable(path: destination.path,
                                                 reason: String(format: "the checkpoint needs %.2f GB and %@ has %.2f GB free", Double(bytes) / 1e9, parent, free / 1e9))
            }
        }
    }

    public static func write(config: ModelConfig, dtype: SafetensorsDType, seed: UInt64, to dir: URL) throws {
        try checkFits(config: config, dtype: dtype, destination: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
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
