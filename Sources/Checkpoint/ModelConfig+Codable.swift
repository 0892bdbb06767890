import Foundation

/// config.json decoding and encoding. Every number is decoded as `Double` and integer fields
/// check that the value is whole, so `8`, `8.0` and `1e-5` all arrive intact: the Int-first
/// union in mlx-swift-lm `StringOrNumber.swift` turned `{"factor": 8.0}` into an `Int` and
/// skipped Llama-3.1's RoPE scaling (mlx-swift-lm #110, fixed in #115; docs/style.md "config.json").
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
        case ropeParameters = "rope_parameters"
        case partialRotaryFactor = "partial_rotary_factor"
        case ropeInterleaved = "rope_interleaved"
        case originalMaxPositionEmbeddings = "original_max_position_embeddings"
        case maxPositionEmbeddings = "max_position_embeddings"
        case vocabSize = "vocab_size"
        case tieWordEmbeddings = "tie_word_embeddings"
        case bosTokenId = "bos_token_id"
        case eosTokenId = "eos_token_id"
        case torchDtype = "torch_dtype"
        case dtype
        case hiddenAct = "hidden_act"
        case attentionBias = "attention_bias"
        case mlpBias = "mlp_bias"
        case slidingWindow = "sliding_window"
        case useSlidingWindow = "use_sliding_window"
        case maxWindowLayers = "max_window_layers"
        case layerTypes = "layer_types"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let typeName = try c.decode(String.self, forKey: .modelType)
        guard let family = ModelFamily(modelType: typeName) else {
            throw DecodingError.dataCorruptedError(forKey: .modelType, in: c, debugDescription:
                "'\(typeName)' is not supported (owlprune runs \(ModelFamily.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self.family = family
        try Self.checkKeys(of: decoder)
        architectures = try c.decodeIfPresent([String].self, forKey: .architectures) ?? [family.causalLMClass]
        guard architectures.contains(family.causalLMClass) else {
            throw DecodingError.dataCorruptedError(forKey: .architectures, in: c, debugDescription:
                "\(architectures) does not name \(family.causalLMClass), the causal LM of model_type '\(typeName)'")
        }
        hiddenSize = try c.positiveInteger(.hiddenSize)
        intermediateSize = try c.positiveInteger(.intermediateSize)
        layerCount = try c.positiveInteger(.layerCount)
        attentionHeadCount = try c.positiveInteger(.attentionHeadCount)
        keyValueHeadCount = try c.present(.keyValueHeadCount) ? c.positiveInteger(.keyValueHeadCount) : attentionHeadCount
        guard attentionHeadCount % keyValueHeadCount == 0 else {
            throw DecodingError.dataCorruptedError(forKey: .keyValueHeadCount, in: c, debugDescription:
                "\(keyValueHeadCount) does not divide num_attention_heads \(attentionHeadCount)")
        }
        if try c.present(.headDim) {
            headDim = try c.positiveInteger(.headDim)
        } else {
            guard let d = family.defaultHeadDim(hiddenSize: hiddenSize, heads: attentionHeadCount) else {
                throw DecodingError.dataCorruptedError(forKey: .attentionHeadCount, in: c, debugDescription:
                    "\(attentionHeadCount) does not divide hidden_size \(hiddenSize) and head_dim is not given")
            }
            headDim = d
        }
        guard headDim % 2 == 0 else {
            throw DecodingError.dataCorruptedError(forKey: .headDim, in: c, debugDescription: "\(headDim) is odd; RoPE needs pairs")
        }
        rmsNormEpsilon = try c.decode(Double.self, forKey: .rmsNormEpsilon)
        guard rmsNormEpsilon > 0, rmsNormEpsilon.isFinite else {
            throw DecodingError.dataCorruptedError(forKey: .rmsNormEpsilon, in: c, debugDescription: "must be positive")
        }
        maxPositionEmbeddings = try c.positiveInteger(.maxPositionEmbeddings)
        vocabSize = try c.positiveInteger(.vocabSize)
        (ropeTheta, ropeScaling) = try Self.decodeRope(c, maxPositions: maxPositionEmbeddings)
        (slidingWindow, slidingBlocks) = try Self.decodeSlidingWindow(c, family: family, blocks: layerCount)
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? false
        bosTokenIds = try c.tokenIds(.bosTokenId)
        eosTokenIds = try c.tokenIds(.eosTokenId)
        // transformers 5 renamed `torch_dtype` to `dtype`.
        torchDtype = try c.decodeIfPresent(String.self, forKey: .torchDtype) ?? c.decodeIfPresent(String.self, forKey: .dtype)
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? "silu"
        guard hiddenAct == "silu" else {
            throw DecodingError.dataCorruptedError(forKey: .hiddenAct, in: c, debugDescription:
                "'\(hiddenAct)' is not supported (owlprune runs SwiGLU with silu)")
        }
        if family.readsAttentionBias, try c.decodeIfPresent(Bool.self, forKey: .attentionBias) == true {
            throw DecodingError.dataCorruptedError(forKey: .attentionBias, in: c, debugDescription:
                "true puts a bias on o_proj too (transformers' \(family.causalLMClass)), which owlprune does not support")
        }
        if family == .llama, try c.decodeIfPresent(Bool.self, forKey: .mlpBias) == true {
            throw DecodingError.dataCorruptedError(forKey: .mlpBias, in: c, debugDescription: "biases on the MLP are not supported")
        }
        if try c.decodeIfPresent(Bool.self, forKey: .ropeInterleaved) == true {
            throw DecodingError.dataCorruptedError(forKey: .ropeInterleaved, in: c, debugDescription:
                "interleaved RoPE is not supported (transformers rotates halves)")
        }
    }

    /// Refuses top-level keys that are neither read here nor known to leave the forward pass alone.
    private static func checkKeys(of decoder: any Decoder) throws {
        let all = try decoder.container(keyedBy: AnyKey.self)
        for key in all.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
            let name = key.stringValue
            if CodingKeys(stringValue: name) != nil || ConfigKeys.ignored.contains(name) || ConfigKeys.familySpecific.contains(name) {
                continue
            }
            if let reason = ConfigKeys.refused[name] {
                // `"clip_qkv": null` or `"use_parallel_residual": false` switch the feature off.
                if try all.decodeNil(forKey: key) || (try? all.decode(Bool.self, forKey: key)) == false { continue }
                throw DecodingError.dataCorruptedError(forKey: key, in: all, debugDescription: reason)
            }
            throw DecodingError.dataCorruptedError(forKey: key, in: all, debugDescription:
                "unknown key: owlprune cannot tell whether it changes the forward pass (remove it from config.json if it does not)")
        }
    }

    /// RoPE from either generation. transformers 5 reads `rope_scaling` first (`convert_rope_params_to_dict`:
    /// `rope_scaling or rope_parameters`) and lets the dictionary's `rope_theta` win over the
    /// top-level one; a config where the two layouts disagree is refused instead of guessed.
    private static func decodeRope(_ c: KeyedDecodingContainer<CodingKeys>, maxPositions: Int) throws -> (Double, RopeScaling?) {
        let topTheta = try c.decodeIfPresent(Double.self, forKey: .ropeTheta)
        let legacy = try c.present(.ropeScaling), modern = try c.present(.ropeParameters)
        if legacy && modern {
            throw DecodingError.dataCorruptedError(forKey: .ropeParameters, in: c, debugDescription:
                "rope_scaling and rope_parameters are both given; keep one (transformers 5 would silently use rope_scaling)")
        }
        let topOriginal = try c.present(.originalMaxPositionEmbeddings) ? c.positiveInteger(.originalMaxPositionEmbeddings) : nil
        var theta = topTheta ?? 10000
        var scaling: RopeScaling?
        var partial = try c.decodeIfPresent(Double.self, forKey: .partialRotaryFactor)
        if legacy || modern {
            let key: CodingKeys = legacy ? .ropeScaling : .ropeParameters
            let rope = try c.decode(RopeJSON.self, forKey: key)
            if let t = rope.theta {
                if let topTheta, topTheta != t {
                    throw DecodingError.dataCorruptedError(forKey: .ropeTheta, in: c, debugDescription:
                        "\(topTheta) disagrees with \(key.stringValue).rope_theta \(t)")
                }
                theta = t
            }
            partial = rope.partialRotaryFactor ?? partial
            scaling = try rope.scaling(maxPositions: maxPositions, topLevelOriginal: topOriginal)
        }
        guard theta > 0, theta.isFinite else {
            throw DecodingError.dataCorruptedError(forKey: .ropeTheta, in: c, debugDescription: "must be positive")
        }
        if let partial, partial != 1 {
            throw DecodingError.dataCorruptedError(forKey: .partialRotaryFactor, in: c, debugDescription:
                "\(partial): partial rotary embeddings are not supported")
        }
        return (theta, scaling)
    }

    /// Sliding-window attention as each family's config class resolves it (`ModelFamily.slidingWindowRule`).
    private static func decodeSlidingWindow(_ c: KeyedDecodingContainer<CodingKeys>, family: ModelFamily,
                                            blocks: Int) throws -> (Int?, [Int]) {
        // Absent means the class default (4096, `MistralConfig` / `Qwen2Config`), null means none.
        func window() throws -> Int? {
            guard c.contains(.slidingWindow) else { return 4096 }
            return try c.decodeNil(forKey: .slidingWindow) ? nil : c.positiveInteger(.slidingWindow)
        }
        switch family.slidingWindowRule {
        case .none:
            return (nil, [])
        case .allBlocks:
            guard let w = try window() else { return (nil, []) }
            return (w, Array(0..<blocks))
        case .qwenLayerTypes:
            let use = try c.decodeIfPresent(Bool.self, forKey: .useSlidingWindow) ?? false
            let w = use ? try window() : nil
            let types: [String]
            if try c.present(.layerTypes) {
                types = try c.decode([String].self, forKey: .layerTypes)
                guard types.count == blocks else {
                    throw DecodingError.dataCorruptedError(forKey: .layerTypes, in: c, debugDescription:
                        "\(types.count) entries for \(blocks) blocks")
                }
            } else {
                let first = try c.present(.maxWindowLayers) ? c.integer(.maxWindowLayers) : 28
                types = (0..<blocks).map { w != nil && $0 >= first ? "sliding_attention" : "full_attention" }
            }
            var sliding: [Int] = []
            for (i, t) in types.enumerated() {
                switch t {
                case "full_attention": continue
                case "sliding_attention": sliding.append(i)
                default:
                    throw DecodingError.dataCorruptedError(forKey: .layerTypes, in: c, debugDescription:
                        "entry \(i) '\(t)' is not supported (full_attention or sliding_attention)")
                }
            }
            guard !sliding.isEmpty else { return (nil, []) }
            guard let w else {
                throw DecodingError.dataCorruptedError(forKey: .layerTypes, in: c, debugDescription:
                    "marks sliding_attention blocks, but sliding_window is off (use_sliding_window false or sliding_window null)")
            }
            return (w, sliding)
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
            try c.encode(RopeJSON(scaling: ropeScaling), forKey: .ropeScaling)
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
        if family.readsAttentionBias { try c.encode(false, forKey: .attentionBias) }
        if family == .llama { try c.encode(false, forKey: .mlpBias) }
        switch family.slidingWindowRule {
        case .none:
            break
        case .allBlocks:
            if let slidingWindow { try c.encode(slidingWindow, forKey: .slidingWindow) } else { try c.encodeNil(forKey: .slidingWindow) }
        case .qwenLayerTypes:
            try c.encode(slidingWindow != nil, forKey: .useSlidingWindow)
            if let slidingWindow { try c.encode(slidingWindow, forKey: .slidingWindow) } else { try c.encodeNil(forKey: .slidingWindow) }
            let first = slidingBlocks.first ?? layerCount
            try c.encode(first, forKey: .maxWindowLayers)
            if slidingBlocks != Array(first..<layerCount) {
                try c.encode((0..<layerCount).map { slidingBlocks.contains($0) ? "sliding_attention" : "full_attention" },
                             forKey: .layerTypes)
            }
        }
    }
}

/// Any key, to list the keys of a container.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
}

/// `rope_scaling` (transformers 4) or `rope_parameters` (5): the type under `rope_type` (or the
/// older `type`), the parameters of transformers' `_compute_*_parameters` for that type.
private struct RopeJSON: Codable {
    var kind: String
    var theta: Double?
    var partialRotaryFactor: Double?
    var factor: Double??
    var lowFrequencyFactor: Double?, highFrequencyFactor: Double?
    var originalMaxPositionEmbeddings: Int?
    var attentionFactor: Double?, mscale: Double?, mscaleAllDim: Double?, betaFast: Double?, betaSlow: Double?
    var truncate: Bool?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case ropeType = "rope_type", type, factor
        case theta = "rope_theta", partialRotaryFactor = "partial_rotary_factor"
        case lowFrequencyFactor = "low_freq_factor", highFrequencyFactor = "high_freq_factor"
        case originalMaxPositionEmbeddings = "original_max_position_embeddings"
        case attentionFactor = "attention_factor", mscale, mscaleAllDim = "mscale_all_dim"
        case betaFast = "beta_fast", betaSlow = "beta_slow", truncate
    }

    static let supported = ["default", "linear", "dynamic", "llama3", "yarn"]

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let all = try decoder.container(keyedBy: AnyKey.self)
        for key in all.allKeys where CodingKeys(stringValue: key.stringValue) == nil {
            throw DecodingError.dataCorruptedError(forKey: key, in: all, debugDescription:
                "unknown RoPE parameter: owlprune cannot tell what it changes")
        }
        let typeKey: CodingKeys = c.contains(.ropeType) ? .ropeType : .type
        kind = try c.decodeIfPresent(String.self, forKey: typeKey) ?? "default"
        guard Self.supported.contains(kind) else {
            throw DecodingError.dataCorruptedError(forKey: typeKey, in: c, debugDescription:
                "'\(kind)' is not supported (\(Self.supported.joined(separator: ", ")), or null)")
        }
        theta = try c.decodeIfPresent(Double.self, forKey: .theta)
        partialRotaryFactor = try c.decodeIfPresent(Double.self, forKey: .partialRotaryFactor)
        func required(_ key: CodingKeys) throws -> Double { try c.decode(Double.self, forKey: key) }
        switch kind {
        case "linear", "dynamic":
            factor = .some(try required(.factor))
        case "llama3":
            factor = .some(try required(.factor))
            lowFrequencyFactor = try required(.lowFrequencyFactor)
            highFrequencyFactor = try required(.highFrequencyFactor)
        case "yarn":
            // `factor: null` means max_position_embeddings / original_max_position_embeddings.
            guard c.contains(.factor) else { _ = try required(.factor); return }
            factor = try c.decodeNil(forKey: .factor) ? .some(nil) : .some(try required(.factor))
            attentionFactor = try c.decodeIfPresent(Double.self, forKey: .attentionFactor)
            mscale = try c.decodeIfPresent(Double.self, forKey: .mscale)
            mscaleAllDim = try c.decodeIfPresent(Double.self, forKey: .mscaleAllDim)
            betaFast = try c.decodeIfPresent(Double.self, forKey: .betaFast)
            betaSlow = try c.decodeIfPresent(Double.self, forKey: .betaSlow)
            truncate = try c.decodeIfPresent(Bool.self, forKey: .truncate)
        default:
            break
        }
        if (kind == "llama3" || kind == "yarn"), c.contains(.originalMaxPositionEmbeddings) {
            originalMaxPositionEmbeddings = try c.positiveInteger(.originalMaxPositionEmbeddings)
        }
        if case let .some(.some(f)) = factor, !(f > 0 && f.isFinite) {
            throw DecodingError.dataCorruptedError(forKey: .factor, in: c, debugDescription: "must be positive, got \(f)")
        }
    }

    /// transformers' `standardize_rope_params`: a top-level `original_max_position_embeddings`
    /// wins, else the dictionary's, else `max_position_embeddings`.
    func scaling(maxPositions: Int, topLevelOriginal: Int?) throws -> RopeScaling? {
        let original = topLevelOriginal ?? originalMaxPositionEmbeddings ?? maxPositions
        switch kind {
        case "linear": return .linear(factor: factor!!)
        case "dynamic": return .dynamic(factor: factor!!)
        case "llama3":
            return .llama3(Llama3RopeScaling(factor: factor!!, lowFrequencyFactor: lowFrequencyFactor!,
                                             highFrequencyFactor: highFrequencyFactor!, originalMaxPositionEmbeddings: original))
        case "yarn":
            return .yarn(YarnRopeScaling(factor: factor! ?? Double(maxPositions) / Double(original),
                                         originalMaxPositionEmbeddings: original, attentionFactor: attentionFactor,
                                         mscale: mscale, mscaleAllDim: mscaleAllDim, betaFast: betaFast, betaSlow: betaSlow,
                                         truncate: truncate ?? true))
        default: return nil
        }
    }

    init(scaling: RopeScaling) {
        kind = scaling.typeName
        switch scaling {
        case let .linear(f), let .dynamic(f):
            factor = .some(f)
        case let .llama3(s):
            factor = .some(s.factor)
            lowFrequencyFactor = s.lowFrequencyFactor
            highFrequencyFactor = s.highFrequencyFactor
            originalMaxPositionEmbeddings = s.originalMaxPositionEmbeddings
        case let .yarn(s):
            factor = .some(s.factor)
            originalMaxPositionEmbeddings = s.originalMaxPositionEmbeddings
            attentionFactor = s.attentionFactor
            mscale = s.mscale
            mscaleAllDim = s.mscaleAllDim
            betaFast = s.betaFast
            betaSlow = s.betaSlow
            truncate = s.truncate ? nil : false
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .ropeType)
        if case let .some(.some(f)) = factor { try c.encode(f, forKey: .factor) }
        try c.encodeIfPresent(lowFrequencyFactor, forKey: .lowFrequencyFactor)
        try c.encodeIfPresent(highFrequencyFactor, forKey: .highFrequencyFactor)
        try c.encodeIfPresent(originalMaxPositionEmbeddings, forKey: .originalMaxPositionEmbeddings)
        try c.encodeIfPresent(attentionFactor, forKey: .attentionFactor)
        try c.encodeIfPresent(mscale, forKey: .mscale)
        try c.encodeIfPresent(mscaleAllDim, forKey: .mscaleAllDim)
        try c.encodeIfPresent(betaFast, forKey: .betaFast)
        try c.encodeIfPresent(betaSlow, forKey: .betaSlow)
        try c.encodeIfPresent(truncate, forKey: .truncate)
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

    /// The key is there and not null.
    func present(_ key: Key) throws -> Bool { try contains(key) && !decodeNil(forKey: key) }

    func positiveInteger(_ key: Key) throws -> Int {
        let value = try integer(key)
        guard value > 0 else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "must be positive, got \(value)")
        }
        return value
    }

    /// `bos_token_id` / `eos_token_id`: a number or a list of numbers (the list is tried first,
    /// docs/style.md "config.json"); nil when absent or null.
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
