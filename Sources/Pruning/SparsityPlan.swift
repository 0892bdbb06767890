/// The pruning method applied to each linear.
public enum PruningMethod: String, Sendable, Hashable, Codable, CaseIterable {
    case magnitude, wanda, sparsegpt, ria
}

/// Everything every rank must agree on before phase 2 (docs/design.md §3 "Plan agreement"): the
/// method, pattern, allocation and its hyper-parameters, the outlier ratios it came from, and
/// the sparsity of every block and linear. Built from the same all-reduced ratios with the same
/// code on every rank; `stableHash` proves agreement with one all-reduce.
public struct SparsityPlan: Sendable, Equatable {
    public var method: PruningMethod
    public var pattern: SparsityPattern
    public var targetSparsity: Double
    public var allocation: Allocation
    /// OWL's `D_l` in percent (§7.1); nil for uniform and ATP plans.
    public var outlierRatios: [Double]?
    /// `s_l` per block (for N:M, `N/M` everywhere).
    public var blockSparsities: [Double]
    /// Per block, the sparsity handed to each of its seven linears (§7.2: all seven use `s_l`).
    public var linearSparsities: [[LinearKind: Double]]
    public var dsnot: Bool
    public var dass: Bool
    /// Provenance filled in by the caller (docs/design.md §5 plan file); part of the hash.
    public var modelID: String?
    public var seed: UInt64?
    public var windowsHash: String?
    /// The method options that change the bits (`PlanSettings`); nil in plans made before them.
    public var settings: PlanSettings?
    /// `prune --remove-by` (issue 12 item 6): the blocks removed before this plan's pruning, which
    /// indexes the blocks that remain. nil (and absent from the JSON) otherwise.
    public var blockRemoval: BlockRemovalResult?
    /// `--remove-by streamline --replacement layer` (issue 24): the training that made block b,
    /// which decides its bits as much as the removal does. nil (and absent) otherwise.
    public var streamlineTraining: StreamlineTrainingSettings?

    public init(method: PruningMethod, pattern: SparsityPattern, targetSparsity: Double, allocation: Allocation,
                outlierRatios: [Double]?, blockSparsities: [Double], dsnot: Bool = false, dass: Bool = false,
                modelID: String? = nil, seed: UInt64? = nil, windowsHash: String? = nil) {
        self.method = method
        self.pattern = pattern
        self.targetSparsity = targetSparsity
        self.allocation = allocation
        self.outlierRatios = outlierRatios
        self.blockSparsities = blockSparsities
        self.linearSparsities = blockSparsities.map { s in
            Dictionary(uniqueKeysWithValues: LinearKind.allCases.map { ($0, s) })
        }
        self.dsnot = dsnot
        self.dass = dass
        self.modelID = modelID
        self.seed = seed
        self.windowsHash = windowsHash
    }

    /// Builds the plan for `blocks` blocks. OWL needs `outlierRatios` (one per block); N:M
    /// patterns are uniform by construction (OWL's mixed-N variant is not implemented, §13.7).
    public static func make(method: PruningMethod, pattern: SparsityPattern, target: Double, allocation: Allocation,
                            blocks: Int, outlierRatios: [Double]? = nil, dsnot: Bool = false,
                            dass: Bool = false) throws -> SparsityPlan {
        let sparsities: [Double]
        if let fixed = pattern.fixedSparsity {
            guard allocation == .uniform else {
                throw PruningError.incompatibleOptions("--pattern \(pattern) supports only --allocation uniform")
            }
            sparsities = try uniformSparsities(blocks: blocks, target: fixed)
        } else {
            switch allocation {
            case .uniform:
                sparsities = try uniformSparsities(blocks: blocks, target: target)
            case let .owl(m, lambda):
                guard m.isFinite, m > 0 else {
                    throw PruningError.invalidArgument(argument: "--owl-m", value: "\(m)", reason: "must be a positive number")
                }
                guard let d = outlierRatios, d.count == blocks else {
                    throw PruningError.invalidArgument(argument: "outlier ratios", value: "\(outlierRatios?.count ?? 0) values",
                                                       reason: "OWL needs one per block (\(blocks))")
                }
                sparsities = try owlSparsities(outlierRatios: d, target: target, lambda: lambda)
            case let .atp(beta):
                sparsities = try atpSparsities(blocks: blocks, target: target, beta: beta)
            case let .dlp(alpha):
                guard let d = outlierRatios, d.count == blocks else {
                    throw PruningError.invalidArgument(argument: "DLP scores", value: "\(outlierRatios?.count ?? 0) values",
                                                       reason: "DLP needs one per block (\(blocks))")
                }
                sparsities = try DLP.sparsities(scores: d, target: target, alpha: alpha)
            case let .alpha(epsilon, _):
                guard let d = outlierRatios, d.count == blocks else {
                    throw PruningError.invalidArgument(argument: "AlphaPruning metrics", value: "\(outlierRatios?.count ?? 0) values",
                                                       reason: "AlphaPruning needs one per block (\(blocks))")
                }
                sparsities = try AlphaPruning.sparsities(metrics: d, target: target, epsilon: epsilon)
            }
        }
        let keepRatios = allocation.usesBlockValues
        return SparsityPlan(method: method, pattern: pattern, targetSparsity: pattern.fixedSparsity ?? target,
                            allocation: allocation, outlierRatios: keepRatios ? outlierRatios : nil,
                            blockSparsities: sparsities, dsnot: dsnot, dass: dass)
    }

    /// Mean of the block sparsities: equals the target unless OWL's 0.01 clamp raised a block.
    public var meanBlockSparsity: Double {
        blockSparsities.isEmpty ? 0 : blockSparsities.reduce(0, +) / Double(blockSparsities.count)
    }

    public func sparsity(block: Int, kind: LinearKind) -> Double {
        linearSparsities[block][kind] ?? blockSparsities[block]
    }

    /// The pattern to prune one linear with: a linear a recipe keeps dense (sparsity 0, e.g.
    /// `ignore`) is pruned as unstructured at 0, which returns it unchanged even under N:M.
    public func pattern(block: Int, kind: LinearKind) -> SparsityPattern {
        sparsity(block: block, kind: kind) == 0 ? .unstructured : pattern
    }
}
