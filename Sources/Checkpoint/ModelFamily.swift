/// The LLaMA-family architectures owlprune runs, as config.json names them (`model_type`, and the
/// causal-LM class in `architectures`). Everything that differs between them is a property here,
/// so the rest of the code asks the architecture instead of comparing names (README,
/// "Architectures"). Each property cites the transformers modeling file it follows (5.24).
public enum ModelFamily: String, CaseIterable, Sendable, Equatable {
    case llama, mistral, qwen2, qwen3

    /// The `architectures` entry transformers' `AutoModelForCausalLM` maps to.
    public var causalLMClass: String {
        switch self {
        case .llama: "LlamaForCausalLM"
        case .mistral: "MistralForCausalLM"
        case .qwen2: "Qwen2ForCausalLM"
        case .qwen3: "Qwen3ForCausalLM"
        }
    }

    /// q/k/v carry biases regardless of config (`modeling_qwen2.py` `Qwen2Attention`: `bias=True`
    /// on q/k/v, `bias=False` on o_proj).
    public var hasQueryKeyValueBias: Bool { self == .qwen2 }

    /// Per-head RMSNorm on q and k before RoPE (`modeling_qwen3.py` `q_norm`/`k_norm` over
    /// `head_dim`).
    public var hasQueryKeyNorm: Bool { self == .qwen3 }

    /// `head_dim` when config.json leaves it out: `Qwen3Config` defaults it to 128, the others to
    /// hidden / heads.
    public func defaultHeadDim(hiddenSize: Int, heads: Int) -> Int? {
        if self == .qwen3 { return 128 }
        return hiddenSize % heads == 0 ? hiddenSize / heads : nil
    }

    /// Whether `attention_bias` is a config key of this family (Llama and Qwen3 put it on q/k/v
    /// *and* o_proj; Mistral has none; Qwen2 ignores it and always has q/k/v biases).
    public var readsAttentionBias: Bool { self == .llama || self == .qwen3 }

    /// How sliding-window attention is configured: Mistral applies `sliding_window` to every
    /// block (`modeling_mistral.py`: one sliding mask when it is not null); Qwen2/3 only when
    /// `use_sliding_window`, and only on the blocks `layer_types` marks (by default those from
    /// `max_window_layers` on, `Qwen2Config.__post_init__`). Llama has no sliding window.
    public enum SlidingWindowRule: Sendable { case none, allBlocks, qwenLayerTypes }

    public var slidingWindowRule: SlidingWindowRule {
        switch self {
        case .llama: .none
        case .mistral: .allBlocks
        case .qwen2, .qwen3: .qwenLayerTypes
        }
    }

    public init?(modelType: String) { self.init(rawValue: modelType) }
}
