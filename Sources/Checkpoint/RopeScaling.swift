import Foundation

/// Llama-3 RoPE scaling, the parameters of transformers' `_compute_llama3_parameters`
/// (`modeling_rope_utils.py`).
public struct Llama3RopeScaling: Sendable, Equatable {
    public var factor: Double
    public var lowFrequencyFactor: Double
    public var highFrequencyFactor: Double
    public var originalMaxPositionEmbeddings: Int

    public init(factor: Double, lowFrequencyFactor: Double, highFrequencyFactor: Double, originalMaxPositionEmbeddings: Int) {
        self.factor = factor
        self.lowFrequencyFactor = lowFrequencyFactor
        self.highFrequencyFactor = highFrequencyFactor
        self.originalMaxPositionEmbeddings = originalMaxPositionEmbeddings
    }
}

/// YaRN scaling, the parameters of transformers' `_compute_yarn_parameters`. Optional keys stay
/// nil so the defaults are applied where transformers applies them (in Model), and so a config
/// written back out says exactly what the input said.
public struct YarnRopeScaling: Sendable, Equatable {
    public var factor: Double
    public var originalMaxPositionEmbeddings: Int
    /// `attention_factor`; nil means "derived from factor / mscale / mscale_all_dim".
    public var attentionFactor: Double?
    public var mscale: Double?
    public var mscaleAllDim: Double?
    /// `beta_fast`, `beta_slow`; nil (or 0, as transformers' `or` treats it) means 32 and 1.
    public var betaFast: Double?
    public var betaSlow: Double?
    /// `truncate`; transformers' default is true.
    public var truncate: Bool

    public init(factor: Double, originalMaxPositionEmbeddings: Int, attentionFactor: Double? = nil, mscale: Double? = nil,
                mscaleAllDim: Double? = nil, betaFast: Double? = nil, betaSlow: Double? = nil, truncate: Bool = true) {
        self.factor = factor
        self.originalMaxPositionEmbeddings = originalMaxPositionEmbeddings
        self.attentionFactor = attentionFactor
        self.mscale = mscale
        self.mscaleAllDim = mscaleAllDim
        self.betaFast = betaFast
        self.betaSlow = betaSlow
        self.truncate = truncate
    }
}

/// The RoPE variants of transformers' `ROPE_INIT_FUNCTIONS` that owlprune computes. `default`
/// is `ModelConfig.ropeScaling == nil`; `longrope`, `proportional` and anything else are refused
/// when the config is read.
public enum RopeScaling: Sendable, Equatable {
    /// Position interpolation: every inverse frequency divided by `factor`.
    case linear(factor: Double)
    /// Dynamic NTK: the base grows with the sequence length once it exceeds
    /// `max_position_embeddings`; below that it is the default RoPE.
    case dynamic(factor: Double)
    case llama3(Llama3RopeScaling)
    case yarn(YarnRopeScaling)

    public var typeName: String {
        switch self {
        case .linear: "linear"
        case .dynamic: "dynamic"
        case .llama3: "llama3"
        case .yarn: "yarn"
        }
    }
}
