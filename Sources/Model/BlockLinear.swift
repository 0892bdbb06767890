/// The seven linear layers of a LLaMA block with their Hugging Face names. HF names belong to the
/// checkpoint format, so they are spelled here as literals and nowhere else in Model.
public enum BlockLinear: String, CaseIterable, Sendable {
    case q = "self_attn.q_proj", k = "self_attn.k_proj", v = "self_attn.v_proj", o = "self_attn.o_proj"
    case gate = "mlp.gate_proj", up = "mlp.up_proj", down = "mlp.down_proj"

    public func weightName(block: Int) -> String { "model.layers.\(block).\(rawValue).weight" }

    /// Which of the block's four distinct linear inputs this layer multiplies (docs/algorithms.md §1.1).
    public var input: LinearInput {
        switch self {
        case .q, .k, .v: .attention
        case .o: .attentionOutput
        case .gate, .up: .mlp
        case .down: .down
        }
    }
}

/// The four distinct tensors the seven linears read. q/k/v share one input and gate/up another,
/// so a statistics hook sees each tensor once instead of seven times.
public enum LinearInput: Int, CaseIterable, Sendable {
    case attention, attentionOutput, mlp, down
}

/// Non-linear per-block and model-level weights.
public enum ModelTensorName {
    public static func inputNorm(block: Int) -> String { "model.layers.\(block).input_layernorm.weight" }
    public static func postAttentionNorm(block: Int) -> String { "model.layers.\(block).post_attention_layernorm.weight" }
    public static let embedding = "model.embed_tokens.weight"
    public static let finalNorm = "model.norm.weight"
    public static let lmHead = "lm_head.weight"
}

extension BlockLinear {
    /// The bias beside the weight (`…q_proj.bias`). Only Qwen2's q/k/v have one; a bias anywhere
    /// else is refused when the block is loaded.
    public func biasName(block: Int) -> String { "model.layers.\(block).\(rawValue).bias" }
}

extension ModelTensorName {
    /// Qwen3's per-head RMSNorm weights on q and k (`self_attn.q_norm`, `self_attn.k_norm`).
    public static func queryNorm(block: Int) -> String { "model.layers.\(block).self_attn.q_norm.weight" }
    public static func keyNorm(block: Int) -> String { "model.layers.\(block).self_attn.k_norm.weight" }
}
