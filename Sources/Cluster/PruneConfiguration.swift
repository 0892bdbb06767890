import Pruning

/// How calibration inputs reach a block (docs/design.md §3 "Two propagation modes").
public enum Propagation: String, Sendable, Codable, CaseIterable {
    /// Block i is calibrated on the outputs of the already-pruned blocks 0…i−1, as every reference
    /// implementation does. Memory scales with the ranks, time does not.
    case sequential
    /// Every block is calibrated on dense-model activations, so all ranks prune at once.
    case dense
}

/// Everything that decides a pruning run's result (and nothing that does not, such as the rank count).
public struct PruneConfiguration: Sendable {
    public var method: PruningMethod
    public var pattern: SparsityPattern
    public var sparsity: Double
    public var allocation: Allocation
    public var propagation: Propagation
    public var options: PruningOptions
    /// Provenance written into the plan (and its hash): the model's name and the sampler seed
    /// (nil for pre-tokenized windows).
    public var modelID: String
    public var seed: UInt64?
    /// A recipe's per-block/per-linear sparsities and `targets`/`ignore`, applied to the plan.
    public var overrides = SparsityOverrides()
    /// `--atp-beta auto`: the search that chose `allocation`'s β, recorded in the plan.
    public var atpBetaGrid: ATPBetaGrid?

    public init(method: PruningMethod, pattern: SparsityPattern, sparsity: Double, allocation: Allocation,
                propagation: Propagation, options: PruningOptions, modelID: String, seed: UInt64?) {
        self.method = method
        self.pattern = pattern
        self.sparsity = sparsity
        self.allocation = allocation
        self.propagation = propagation
        self.options = options
        self.modelID = modelID
        self.seed = seed
    }

    /// The per-block value the allocation needs from the dense statistics pass: OWL's outlier
    /// ratio or DLP's score; nil for allocations that need none.
    var blockScorer: BlockScorer? {
        switch allocation {
        case let .owl(m, _): .outlierRatio(m: m)
        case .dlp: .dlpScore
        case .uniform, .atp, .alpha: nil
        }
    }

    var needsOutlierRatios: Bool { blockScorer != nil }

    /// Names what the dense statistics pass computes for this configuration (nil: nothing), so
    /// configurations with the same key can share one pass (`owlprune sweep`, issue 14 item 2):
    /// the scores depend on the dense model, the windows and this key only, never on the method,
    /// the target or the spread.
    /// AlphaPruning's per-block metrics are shared the same way: they depend on the weights and the
    /// fit only.
    public var blockScoreKey: String? {
        if let scorer = blockScorer { return "\(scorer)" }
        if case let .alpha(_, fit) = allocation, pattern.fixedSparsity == nil { return "alphaMetric(fit: \(fit))" }
        return nil
    }

    /// OWL's outlier threshold multiple `M` when the allocation is OWL.
    var owlM: Double? {
        if case let .owl(m, _) = allocation { return m }
        return nil
    }

    /// Whether pruning itself reads calibration statistics (everything but plain magnitude does).
    var needsActivations: Bool { method != .magnitude || options.dsnot != nil || options.dass != nil }

    var statisticKinds: StatisticKinds { requiredStatistics(method: method, options: options) }
}
