import Foundation

/// config.json decoding and encoding. Every number is decoded as `Double` and integer fields
/// check that the value is whole, so `8`, `8.0` and `1e-5` all arrive intact: the Int-first
/// union in mlx-swift-lm `StringOrNumber.swift` turned `{"factor": 8.0}` into an `Int` and
/// skipped Llama-3.1's RoPE scaling (mlx-swift-lm #110, fixed in #115; STYLE.md "config.json").
extension ModelConfig: Codable {
    enum CodingKeys: String, CodingKey {
        case architectures
        case modelType = "model_type"
        case hiddenSize = "hidden_size"
        case intermediateSize = "intermediate_size"
        case layerCount = "num_hidden_layers"
        case attentionHeadCount = "num_attention_heads"
        case keyValueHeadCount = "num_key_value_heads"
        case headDim = "head_dim"
        case rmsNormEpsilon = "rms_norm_eps"
        case ropeTheta = "rope_theta"
        case ropeScaling = "rope_scaling"
        case maxPositionEmbeddings = "max_position_embeddings"
        case vocabSize = "vocab_size"
        case tieWordEmbeddings = "tie_word_embeddings"
        case bosTokenId = "bos_token_id"
        case eosTokenId = "eos_token_id"
        case torchDtype = "torch_dtype"
        case hiddenAct = "hidden_act"
        case attentionBias = "attention_bias"
        case mlpBias = "mlp_bias"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        architectures = try c.decodeIfPresent([String].self, forKey: .architectures) ?? ["LlamaForCausalLM"]
        modelType = try c.decode(String.self, forKey: .modelType)
        hiddenSize = try c.positiveInteger(.hiddenSize)
        intermediateSize = try c.positiveInteger(.intermediateSize)
        layerCount = try c.positiveInteger(.layerCount)
        attentionHeadCount = try c.positiveInteger(.attentionHeadCount)
        keyValueHeadCount = try c.contains(.keyValueHeadCount) && !c.decodeNil(forKey: .keyValueHeadCount)
            ? c.positiveInteger(.keyValueHeadCount) : attentionHeadCount
        guard attentionHeadCount % keyValueHeadCount == 0 else {
            throw DecodingError.dataCorruptedError(forKey: .keyValueHeadCount, in: c, debugDescription:
                "\(keyValueHeadCount) does not divide num_attention_heads \(attentionHeadCount)")
        }
        if try c.contains(.headDim) && !c.decodeNil(forKey: .headDim) {
            headDim = try c.positiveInteger(.headDim)
        } else {
            guard hiddenSize % attentionHeadCount == 0 else {
                throw DecodingError.dataCorruptedError(forKey: .attentionHeadCount, in: c, debugDescription:
                    "\(attentionHeadCount) does not divide hidden_size \(hiddenSize) and head_dim is not given")
            }
            headDim = hiddenSize / attentionHeadCount
        }
        guard headDim % 2 == 0 else {
            throw DecodingError.dataCorruptedError(forKey: .headDim, in: c, debugDescription: "\(headDim) is odd; RoPE needs pairs")
        }
        rmsNormEpsilon = try c.decode(Double.self, forKey: .rmsNormEpsilon)
        guard rmsNormEpsilon > 0 else {
            throw DecodingError.dataCorruptedError(forKey: .rmsNormEpsilon, in: c, debugDescription: "must be positive")
        }
        ropeTheta = try c.decodeIfPresent(Double.self, forKey: .ropeTheta) ?? 10000
        guard ropeTheta > 0 else {
            throw DecodingError.dataCorruptedError(forKey: .ropeTheta, in: c, debugDescription: "must be positive")
        }
        ropeScaling = try c.decodeIfPresent(RopeScalingJSON.self, forKey: .ropeScaling)?.scaling
        maxPositionEmbeddings = try c.positiveInteger(.maxPositionEmbeddings)
        vocabSize = try c.positiveInteger(.vocabSize)
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? false
        bosTokenIds = try c.tokenIds(.bosTokenId)
        eosTokenIds = try c.tokenIds(.eosTokenId)
        torchDtype = try c.decodeIfPresent(String.self, forKey: .torchDtype)
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? "silu"
        guard hiddenAct == "silu" else {
            throw DecodingError.dataCorruptedError(forKey: .hiddenAct, in: c, debugDescription:
                "'\(hiddenAct)' is not supported (owlprune runs SwiGLU with silu)")
        }
        for key in [CodingKeys.attentionBias, .mlpBias] where try c.decodeIfPresent(Bool.self, forKey: key) == true {
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "biases are not supported")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(architectures, forKey: .architectures)
        try c.encode(modelType, forKey: .modelType)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(layerCount, forKey: .layerCount)
        try c.encode(attentionHeadCount, forKey: .attentionHeadCount)
        try c.encode(keyValueHeadCount, forKey: .keyValueHeadCount)
        try c.encode(headDim, forKey: .headDim)
        try c.encode(rmsNormEpsilon, forKey: .rmsNormEpsilon)
        try c.encode(ropeTheta, forKey: .ropeTheta)
        if let ropeScaling {
            try c.encode(RopeScalingJSON(scaling: ropeScaling), forKey: .ropeScaling)
        } else {
            try c.encodeNil(forKey: .ropeScaling)
        }
        try c.encode(maxPositionEmbeddings, forKey: .maxPositionEmbeddings)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(tieWordEmbeddings, forKey: .tieWordEmbeddings)
        for (ids, key) in [(bosTokenIds, CodingKeys.bosTokenId), (eosTokenIds, .eosTokenId)] {
            guard let ids else { continue }
            if ids.count == 1 { try c.encode(ids[0], forKey: key) } else { try c.encode(ids, forKey: key) }
        }
        try c.encodeIfPresent(torchDtype, forKey: .torchDtype)
        try c.encode(hiddenAct, forKey: .hiddenAct)
        try c.encode(false, forKey: .attentionBias)
        try c.encode(false, forKey: .mlpBias)
    }
}

/// `rope_scaling` as written by transformers: the type under `rope_type` (or the older `type`).
private struct RopeScalingJSON: Codable {
    var scaling: RopeScaling?

    enum CodingKeys: String, CodingKey {
        case ropeType = "rope_type", type, factor
        case lowFrequencyFactor = "low_freq_factor", highFrequencyFactor = "high_freq_factor"
        case originalMaxPositionEmbeddings = "original_max_position_embeddings"
    }

    init(scaling: RopeScaling) { self.scaling = scaling }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let typeKey: CodingKeys = c.contains(.ropeType) ? .ropeType : .type
        let kind = try c.decode(String.self, forKey: typeKey)
        switch kind {
        case "default":
            scaling = nil
        case RopeScaling.llama3Type:
            scaling = RopeScaling(factor: try c.decode(Double.self, forKey: .factor),
                                  lowFrequencyFactor: try c.decode(Double.self, forKey: .lowFrequencyFactor),
                                  highFrequencyFactor: try c.decode(Double.self, forKey: .highFrequencyFactor),
                                  originalMaxPositionEmbeddings: try c.positiveInteger(.originalMaxPositionEmbeddings))
        default:
            throw DecodingError.dataCorruptedError(forKey: typeKey, in: c, debugDescription:
                "'\(kind)' is not supported (only 'llama3' scaling, or null)")
        }
    }

    func encode(to encoder: any Encoder) throws {
        guard let s = scaling else { return }
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(RopeScaling.llama3Type, forKey: .ropeType)
        try c.encode(s.factor, forKey: .factor)
        try c.encode(s.lowFrequencyFactor, forKey: .lowFrequencyFactor)
        try c.encode(s.highFrequencyFactor, forKey: .highFrequencyFactor)
        try c.encode(s.originalMaxPositionEmbeddings, forKey: .originalMaxPositionEmbeddings)
    }
}

extension KeyedDecodingContainer {
    /// A whole number written as `8` or `8.0`.
    func integer(_ key: Key) throws -> Int {
        let value = try decode(Double.self, forKey: key)
        guard value == value.rounded(), abs(value) < 0x1p53 else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "expected an integer, got \(value)")
        }
        return Int(value)
    }

    func positiveInteger(_ key: Key) throws -> Int {
        let value = try integer(key)
        guard value > 0 else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "must be positive, got \(value)")
        }
        return value
    }

    /// `bos_token_id` / `eos_token_id`: a number or a list of numbers (the list is tried first,
    /// STYLE.md "config.json"); nil when absent or null.
    func tokenIds(_ key: Key) throws -> [Int]? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        if let list = try? decode([Double].self, forKey: key) {
            return try list.map { value in
                guard value == value.rounded(), value >= 0, value < 0x1p53 else {
                    throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "expected token ids, got \(value)")
                }
                return Int(value)
            }
        }
        return [try integer(key)]
    }
}
