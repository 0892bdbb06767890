import Tensor

/// Options of one pruning run that are not the method, sparsity or pattern.
public struct PruningOptions: Sendable, Hashable {
    /// SparseGPT relative damping (`--damp`, §6.1).
    public var percdamp: Double = 0.01
    /// SparseGPT column block size `B_s` (§6.2).
    public var blocksize: Int = 128
    /// DSnoT refinement (`--dsnot`); nil = off.
    public var dsnot: DSnoTOptions?
    /// DaSS metric for the MLP linears (`--dass`, Wanda only); nil = off.
    public var dass: DaSSOptions?
    /// ADMM weight reconstruction after the mask (`--update admm`, `ADMM.swift`); nil = none.
    public var admm: ADMMOptions?

    public init(percdamp: Double = 0.01, blocksize: Int = 128, dsnot: DSnoTOptions? = nil, dass: DaSSOptions? = nil) {
        self.percdamp = percdamp
        self.blocksize = blocksize
        self.dsnot = dsnot
        self.dass = dass
    }
}

/// The result of pruning one linear.
public struct PrunedLinear: Sendable, Equatable {
    /// Pruned entries are exactly 0; SparseGPT also updates the kept entries.
    public var weight: Matrix
    public var mask: PruningMask
    /// `mask.prunedCount`: the planned count for row-wise and N:M methods, at least the
    /// planned `k+1` for the `≤ τ` rules of magnitude and SparseGPT (§4, §6.2).
    public var prunedCount: Int

    public init(weight: Matrix, mask: PruningMask, prunedCount: Int) {
        self.weight = weight
        self.mask = mask
        self.prunedCount = prunedCount
    }
}

/// The statistics `pruneLinear` will need for `method` and `options`; collect them for all
/// seven linears of a block in one forward pass (§3.5).
public func requiredStatistics(method: PruningMethod, options: PruningOptions) -> StatisticKinds {
    var kinds: StatisticKinds = []
    if method == .sparsegpt || options.admm != nil { kinds.insert(.hessian) }
    if options.dsnot != nil { kinds.insert(.dsnot) }
    return kinds
}

/// Prunes one linear. This is the only entry the orchestration needs per linear.
///
/// Expected call order per block `l` (docs/algorithms.md §3.5, §7.3):
/// 1. Create `LinearStatistics(columns:collecting: requiredStatistics(...))` for the seven
///    linears, run the still-dense block once over every calibration window in index order,
///    and `add(window:)` each linear's input.
/// 2. (Phase 1, OWL only) `blockOutlierRatio` per block from dense propagation, all-reduce, then
///    `SparsityPlan.make` on every rank and compare `stableHash()`.
/// 3. Call `pruneLinear` for each of the seven linears with `plan.sparsity(block:kind:)`; for
///    DaSS pass `intermediate:` = the same block's `down_proj` statistics. All seven read
///    statistics of the dense block, so their order does not matter.
/// 4. Write the pruned weights back and rerun the block to produce the next block's inputs.
///
/// Methods: magnitude (§4), Wanda (§5), SparseGPT (§6), RIA (`RIA.swift`); `options.dsnot` refines the initial
/// mask of the method (§9; for SparseGPT the initial metric is `W²/U_jj²` with no weight update,
/// as in zyxxmu/DSnoT); `options.dass` swaps Wanda's metric on the MLP linears (§10).
/// Sparsity 0 returns the weight unchanged (§13.5).
public func pruneLinear(weight: Matrix, id: LinearID, statistics: LinearStatistics, intermediate: WandaStatistic? = nil,
                        method: PruningMethod, sparsity: Double, pattern: SparsityPattern,
                        options: PruningOptions = PruningOptions()) throws -> PrunedLinear {
    let layer = id.description
    guard statistics.columns == weight.cols else {
        throw PruningError.shapeMismatch(layer: layer, detail: "statistics have \(statistics.columns) columns, weight has \(weight.cols)")
    }
    if pattern == .unstructured {
        try validateSparsity(sparsity, layer: layer)
        if sparsity == 0 { return PrunedLinear(weight: weight, mask: PruningMask(rows: weight.rows, cols: weight.cols), prunedCount: 0) }
    }
    let scalerRow = statistics.wanda.scalerRow
    // A NaN would sort anywhere and silently decide the mask; refuse it by name instead.
    if let j = scalerRow.firstIndex(where: { !$0.isFinite }) {
        throw PruningError.nonFiniteStatistic(layer: layer, statistic: "Wanda", column: j)
    }
    if let h = statistics.hessian?.hessian, let j = (0..<h.rows).first(where: { !h[$0, $0].isFinite }) {
        throw PruningError.nonFiniteStatistic(layer: layer, statistic: "Hessian", column: j)
    }

    if let admm = options.admm {
        // SparseGPT's alternative: ADMM chooses its own mask; otherwise the method's mask is kept.
        guard let h = statistics.hessian else { throw PruningError.missingStatistic(layer: layer, statistic: "Hessian") }
        var maskOnly = options
        maskOnly.admm = nil
        let ownMask = method == .sparsegpt && options.dsnot == nil
        if ownMask { try pattern.validate(columns: weight.cols, layer: layer) }
        let fixed = ownMask ? nil : try pruneLinear(weight: weight, id: id, statistics: statistics, intermediate: intermediate,
                                                     method: method, sparsity: sparsity, pattern: pattern, options: maskOnly).mask
        return try ADMM.reconstruct(weight: weight, hessian: h, fixedMask: fixed, sparsity: pattern.fixedSparsity ?? sparsity,
                                    pattern: pattern, options: admm, layer: layer)
    }

    if let dass = options.dass {
        guard method == .wanda, options.dsnot == nil else {
            throw PruningError.incompatibleOptions("--dass works with --method wanda only and cannot be combined with --dsnot")
        }
        if dass.keepsDense(id.kind) {
            return PrunedLinear(weight: weight, mask: PruningMask(rows: weight.rows, cols: weight.cols), prunedCount: 0)
        }
        if id.kind.isMLP {
            let mask = try dassMask(weight: weight, kind: id.kind, scalerRow: scalerRow,
                                    intermediateScalerRow: intermediate?.scalerRow, sparsity: sparsity,
                                    pattern: pattern, options: dass, layer: layer)
            return finish(weight, mask)
        }
    }

    if let dsnotOptions = options.dsnot {
        guard let dsnotStatistic = statistics.dsnot else { throw PruningError.missingStatistic(layer: layer, statistic: "DSnoT") }
        let initial: Matrix
        switch method {
        case .wanda: initial = wandaMetric(weight: weight, scalerRow: scalerRow)
        case .ria: initial = RIA.metric(weight: weight, scalerRow: scalerRow)
        case .magnitude: initial = Matrix(rows: weight.rows, cols: weight.cols, elements: weight.elements.map { abs($0) })
        case .sparsegpt:
            guard let h = statistics.hessian else { throw PruningError.missingStatistic(layer: layer, statistic: "Hessian") }
            let u = try inverseHessianFactor(hessian: h.hessian, percdamp: options.percdamp, layer: layer).upper
            var metric = weight
            for r in 0..<weight.rows {
                for j in 0..<weight.cols {
                    let x = weight[r, j], d = u[j, j]
                    metric[r, j] = (x * x) / (d * d)
                }
            }
            initial = metric
        }
        let mask = try dsnotMask(weight: weight, initialMetric: initial, scalerRow: scalerRow, statistic: dsnotStatistic,
                                 sparsity: sparsity, pattern: pattern, options: dsnotOptions,
                                 refine: dsnotOptions.refineMLP || !id.kind.isMLP, layer: layer)
        return finish(weight, mask)
    }

    switch method {
    case .magnitude:
        return finish(weight, try magnitudeMask(weight: weight, sparsity: sparsity, pattern: pattern, layer: layer))
    case .wanda:
        let mask = try rowwiseMask(metric: wandaMetric(weight: weight, scalerRow: scalerRow), sparsity: sparsity,
                                   pattern: pattern, layer: layer)
        return finish(weight, mask)
    case .ria:
        return finish(weight, try RIA.mask(metric: RIA.metric(weight: weight, scalerRow: scalerRow), sparsity: sparsity,
                                           pattern: pattern, layer: layer))
    case .sparsegpt:
        guard let h = statistics.hessian else { throw PruningError.missingStatistic(layer: layer, statistic: "Hessian") }
        let (updated, mask) = try sparseGPT(weight: weight, hessian: h.hessian, sparsity: sparsity, pattern: pattern,
                                            percdamp: options.percdamp, blocksize: options.blocksize, layer: layer)
        return PrunedLinear(weight: updated, mask: mask, prunedCount: mask.prunedCount)
    }
}

/// The checks `pruneLinear` makes before SparseGPT's sweep, for a caller that runs the sweep on
/// row shares (the windows split: `inverseHessianFactor` on one rank, `SparseGPTSweep` on all).
/// Returns the Hessian to factor, or nil when the linear keeps every weight (unstructured
/// sparsity 0, §13.5).
public func sparseGPTHessian(weightColumns: Int, id: LinearID, statistics: LinearStatistics, sparsity: Double,
                             pattern: SparsityPattern) throws -> Matrix? {
    let layer = id.description
    guard statistics.columns == weightColumns else {
        throw PruningError.shapeMismatch(layer: layer, detail: "statistics have \(statistics.columns) columns, weight has \(weightColumns)")
    }
    if pattern == .unstructured {
        try validateSparsity(sparsity, layer: layer)
        if sparsity == 0 { return nil }
    } else {
        try pattern.validate(columns: weightColumns, layer: layer)
    }
    if let j = statistics.wanda.scalerRow.firstIndex(where: { !$0.isFinite }) {
        throw PruningError.nonFiniteStatistic(layer: layer, statistic: "Wanda", column: j)
    }
    guard let h = statistics.hessian?.hessian else { throw PruningError.missingStatistic(layer: layer, statistic: "Hessian") }
    if let j = (0..<h.rows).first(where: { !h[$0, $0].isFinite }) {
        throw PruningError.nonFiniteStatistic(layer: layer, statistic: "Hessian", column: j)
    }
    return h
}

private func finish(_ weight: Matrix, _ mask: PruningMask) -> PrunedLinear {
    PrunedLinear(weight: mask.apply(to: weight), mask: mask, prunedCount: mask.prunedCount)
}
