import Foundation
import Tensor

/// JSON form of the plan (`owlprune-plan.json`). Keys are snake_case and written sorted, the
/// allocation is flattened into `allocation` + its hyper-parameters, the pattern is `"2:4"`
/// style, and linears are keyed by their HF names — so the bytes depend only on the values.
extension SparsityPlan: Codable {
    enum CodingKeys: String, CodingKey {
        case method, pattern, allocation, dsnot, dass, seed
        case targetSparsity = "target_sparsity"
        case owlM = "owl_m"
        case owlLambda = "owl_lambda"
        case atpBeta = "atp_beta"
        case dlpAlpha = "dlp_alpha"
        case dlpScores = "dlp_scores"
        case alphaEpsilon = "alpha_epsilon"
        case alphaFit = "alpha_fit"
        case alphaMetrics = "alpha_metrics"
        case outlierRatios = "outlier_ratios"
        case blockSparsities = "block_sparsities"
        case linearSparsities = "linear_sparsities"
        case modelID = "model_id"
        case windowsHash = "windows_hash"
        case settings
        case blockRemoval = "block_removal"
        case streamlineTraining = "streamline_training"
    }

    /// The training settings' keys in the plan, snake case as the plan's own.
    private enum TrainingKeys: String, CodingKey {
        case epochs, batch, seed
        case learningRate = "learning_rate", minimumLearningRate = "minimum_learning_rate"
        case weightDecay = "weight_decay", maxGradientNorm = "max_gradient_norm", heldoutWindows = "heldout_windows"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(method, forKey: .method)
        try c.encode(pattern.description, forKey: .pattern)
        try c.encode(targetSparsity, forKey: .targetSparsity)
        switch allocation {
        case .uniform:
            try c.encode("uniform", forKey: .allocation)
        case let .owl(m, lambda):
            try c.encode("owl", forKey: .allocation)
            try c.encode(m, forKey: .owlM)
            try c.encode(lambda, forKey: .owlLambda)
        case let .atp(beta):
            try c.encode("atp", forKey: .allocation)
            try c.encode(beta, forKey: .atpBeta)
        case let .dlp(alpha):
            try c.encode("dlp", forKey: .allocation)
            try c.encode(alpha, forKey: .dlpAlpha)
        case let .alpha(epsilon, fit):
            try c.encode("alpha", forKey: .allocation)
            try c.encode(epsilon, forKey: .alphaEpsilon)
            try c.encode(fit, forKey: .alphaFit)
        }
        // The per-block values the plan came from, under the name of what they are.
        if case .dlp = allocation {
            try c.encodeIfPresent(outlierRatios, forKey: .dlpScores)
        } else if case .alpha = allocation {
            try c.encodeIfPresent(outlierRatios, forKey: .alphaMetrics)
        } else {
            try c.encodeIfPresent(outlierRatios, forKey: .outlierRatios)
        }
        try c.encode(blockSparsities, forKey: .blockSparsities)
        let named = linearSparsities.map { Dictionary(uniqueKeysWithValues: $0.map { ($0.key.rawValue, $0.value) }) }
        try c.encode(named, forKey: .linearSparsities)
        try c.encode(dsnot, forKey: .dsnot)
        try c.encode(dass, forKey: .dass)
        try c.encodeIfPresent(modelID, forKey: .modelID)
        try c.encodeIfPresent(seed, forKey: .seed)
        try c.encodeIfPresent(windowsHash, forKey: .windowsHash)
        try c.encodeIfPresent(settings, forKey: .settings)
        try c.encodeIfPresent(blockRemoval, forKey: .blockRemoval)
        if let t = streamlineTraining {
            var n = c.nestedContainer(keyedBy: TrainingKeys.self, forKey: .streamlineTraining)
            try n.encode(t.epochs, forKey: .epochs); try n.encode(t.batch, forKey: .batch); try n.encode(t.seed, forKey: .seed)
            try n.encode(t.learningRate, forKey: .learningRate); try n.encode(t.minimumLearningRate, forKey: .minimumLearningRate)
            try n.encode(t.weightDecay, forKey: .weightDecay); try n.encode(t.maxGradientNorm, forKey: .maxGradientNorm)
            try n.encode(t.heldoutWindows, forKey: .heldoutWindows)
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        method = try c.decode(PruningMethod.self, forKey: .method)
        let patternText = try c.decode(String.self, forKey: .pattern)
        pattern = try Self.parsePattern(patternText, codingPath: c.codingPath + [CodingKeys.pattern])
        targetSparsity = try c.decode(Double.self, forKey: .targetSparsity)
        switch try c.decode(String.self, forKey: .allocation) {
        case "uniform": allocation = .uniform
        case "owl": allocation = .owl(m: try c.decode(Double.self, forKey: .owlM), lambda: try c.decode(Double.self, forKey: .owlLambda))
        case "atp": allocation = .atp(beta: try c.decode(Double.self, forKey: .atpBeta))
        case "dlp": allocation = .dlp(alpha: try c.decode(Double.self, forKey: .dlpAlpha))
        case "alpha": allocation = .alpha(epsilon: try c.decode(Double.self, forKey: .alphaEpsilon),
                                          fit: try c.decode(AlphaPruning.Fit.self, forKey: .alphaFit))
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .allocation, in: c, debugDescription: "unknown allocation '\(other)'")
        }
        outlierRatios = try c.decodeIfPresent([Double].self, forKey: .outlierRatios)
            ?? c.decodeIfPresent([Double].self, forKey: .dlpScores) ?? c.decodeIfPresent([Double].self, forKey: .alphaMetrics)
        blockSparsities = try c.decode([Double].self, forKey: .blockSparsities)
        let named = try c.decode([[String: Double]].self, forKey: .linearSparsities)
        linearSparsities = try named.map { entry in
            try Dictionary(uniqueKeysWithValues: entry.map { key, value in
                guard let kind = LinearKind(rawValue: key) else {
                    throw DecodingError.dataCorruptedError(forKey: .linearSparsities, in: c, debugDescription: "unknown linear '\(key)'")
                }
                return (kind, value)
            })
        }
        dsnot = try c.decode(Bool.self, forKey: .dsnot)
        dass = try c.decode(Bool.self, forKey: .dass)
        modelID = try c.decodeIfPresent(String.self, forKey: .modelID)
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed)
        windowsHash = try c.decodeIfPresent(String.self, forKey: .windowsHash)
        settings = try c.decodeIfPresent(PlanSettings.self, forKey: .settings)
        blockRemoval = try c.decodeIfPresent(BlockRemovalResult.self, forKey: .blockRemoval)
        if c.contains(.streamlineTraining) {
            let n = try c.nestedContainer(keyedBy: TrainingKeys.self, forKey: .streamlineTraining)
            streamlineTraining = StreamlineTrainingSettings(
                epochs: try n.decode(Int.self, forKey: .epochs), batch: try n.decode(Int.self, forKey: .batch),
                learningRate: try n.decode(Double.self, forKey: .learningRate),
                minimumLearningRate: try n.decode(Double.self, forKey: .minimumLearningRate),
                weightDecay: try n.decode(Double.self, forKey: .weightDecay), maxGradientNorm: try n.decode(Double.self, forKey: .maxGradientNorm),
                heldoutWindows: try n.decode(Int.self, forKey: .heldoutWindows), seed: try n.decode(UInt64.self, forKey: .seed))
        }
    }

    private static func parsePattern(_ text: String, codingPath: [any CodingKey]) throws -> SparsityPattern {
        guard let pattern = SparsityPattern(text: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "pattern '\(text)' is not 'unstructured' or 'N:M'"))
        }
        return pattern
    }

    /// Canonical JSON: sorted keys, no whitespace, slashes unescaped. Identical values give
    /// identical bytes on every rank (same binary, shortest round-trip doubles).
    public func canonicalJSON() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// FNV-1a 64 over `canonicalJSON()`: ranks all-reduce this to prove they hold the same plan.
    public func stableHash() throws -> UInt64 {
        var hash = FNV1a()
        hash.combine(bytes: try canonicalJSON())
        return hash.value
    }
}
