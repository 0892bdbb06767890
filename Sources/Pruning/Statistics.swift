import Tensor

/// Wanda's per-input-feature statistic `S` (docs/algorithms.md §3.1; locuslab/wanda
/// `lib/layerwrapper.py: WrappedGPT.add_batch`, `scaler_row`).
///
/// The running update is kept exactly as the reference writes it, in float32 and window
/// order, so `S_j = (1/N) Σ_w Σ_t x²` — divided by the number of windows, not tokens. OWL
/// compares metrics across layers through a mean (§7.1), so this scale is part of the result.
public struct WandaStatistic: Sendable, Equatable {
    /// `S`, one value per input column.
    public var scalerRow: [Float]
    /// Windows seen (`n`).
    public var windowCount: Int

    public init(columns: Int) {
        scalerRow = [Float](repeating: 0, count: columns)
        windowCount = 0
    }

    /// Adds one calibration window `X_w` (tokens × columns).
    public mutating func add(window x: Matrix) { fold(Self.term(window: x)) }

    /// The part of a window's update that depends on that window only — `‖X_w[:, j]‖²` as torch
    /// rounds it (a float32 sqrt, then a float32 square). It is computed independently per window
    /// (on any thread or rank); `fold` then applies the running mean in window order, so
    /// `add(window:)` and "term anywhere, fold in order" give the same bits.
    public static func term(window x: Matrix) -> [Float] {
        x.columnSquaredSums().map { sum in
            let norm = sum.squareRoot()
            return norm * norm
        }
    }

    /// The running-mean step of the reference for one window's `term`.
    public mutating func fold(_ term: [Float]) {
        precondition(term.count == scalerRow.count, "WandaStatistic: term has \(term.count) columns, expected \(scalerRow.count)")
        let rescale = Float(Double(windowCount) / Double(windowCount + 1))
        windowCount += 1
        let n = Float(windowCount)
        for j in scalerRow.indices { scalerRow[j] = scalerRow[j] * rescale + term[j] / n }
    }
}

/// SparseGPT's Hessian `H = (2/N) Σ_w X_wᵀ X_w` (docs/algorithms.md §3.2; IST-DASLab/sparsegpt
/// `sparsegpt.py: SparseGPT.add_batch`), float32, updated per window exactly in the reference's
/// two steps: `H *= n/(n+1)`, then `H += Y·Yᵀ` with `Y = sqrt(2/(n+1))·X` — the product computed
/// on its own (one `ssyrk` with β = 0, mirrored) and then added. Keeping the product separate is
/// what lets windows be spread over ranks: `term` (the L·n² product) runs wherever the window
/// is, and only `fold` (n² multiply-adds) has to run in window order.
public struct HessianStatistic: Sendable, Equatable {
    public var hessian: Matrix
    public var windowCount: Int

    public init(columns: Int) {
        hessian = Matrix(rows: columns, cols: columns)
        windowCount = 0
    }

    public mutating func add(window x: Matrix) { fold(Self.term(window: x, index: windowCount)) }

    /// `Y·Yᵀ` for window number `index` (0-based): the scale `sqrt(2/(index+1))` depends on the
    /// window's position in the calibration order, never on where it is computed.
    public static func term(window x: Matrix, index: Int) -> Matrix {
        // Y = sqrt(2/n)·Xᵀ rounded to float32 first, as the reference does.
        let factor = Float((2.0 / Double(index + 1)).squareRoot())
        let y = Matrix(rows: x.rows, cols: x.cols, elements: x.elements.map { $0 * factor })
        var product = Matrix(rows: x.cols, cols: x.cols)
        product.symmetricRankUpdate(with: y, scale: 0, gain: 1)
        return product
    }

    /// `H = H·(n/(n+1)) + term`, element by element in float32 (torch's `H *= …; H += …`).
    public mutating func fold(_ term: Matrix) {
        precondition(term.cols == hessian.cols && term.rows == hessian.rows,
                     "HessianStatistic: term is \(term.rows)x\(term.cols), expected \(hessian.rows)x\(hessian.cols)")
        let rescale = Float(Double(windowCount) / Double(windowCount + 1))
        windowCount += 1
        hessian.scaleAndAdd(term, scale: rescale)
    }
}

/// DSnoT's extra statistics (docs/algorithms.md §3.3; zyxxmu/DSnoT `lib/layerwrapper.py`):
/// `m` (`sum_metric_row`, per-window column sums averaged over windows) and `v` (mean of the
/// per-window population variances, weighted by token counts). The wrapper's token mean is
/// never used by `prune_DSnoT` and is not kept. `S` lives in `WandaStatistic`.
public struct DSnoTStatistic: Sendable, Equatable {
    public var sumMetric: [Float]
    public var variance: [Float]
    public var windowCount: Int
    public var tokenCount: Int

    public init(columns: Int) {
        sumMetric = [Float](repeating: 0, count: columns)
        variance = [Float](repeating: 0, count: columns)
        windowCount = 0
        tokenCount = 0
    }

    /// One window's column sums and population variances, the costly part of its update.
    public struct Term: Sendable, Equatable {
        public var sums: [Float]
        public var variances: [Float]
        public var tokens: Int
    }

    public mutating func add(window x: Matrix) { fold(Self.term(window: x)) }

    public static func term(window x: Matrix) -> Term {
        let sums = x.columnSums()
        let tokens = Float(x.rows)
        let means = sums.map { $0 / tokens }
        return Term(sums: sums, variances: x.columnPopulationVariances(means: means), tokens: x.rows)
    }

    /// The reference's running updates of `v` and `m` for one window, in window order.
    public mutating func fold(_ term: Term) {
        precondition(term.sums.count == sumMetric.count, "DSnoTStatistic: term has \(term.sums.count) columns, expected \(sumMetric.count)")
        let sums = term.sums, windowVariance = term.variances
        let tokens = Float(term.tokens)
        if tokenCount == 0 {
            variance = windowVariance
        } else {
            let old = Float(tokenCount)
            let total = Float(tokenCount + term.tokens)
            for j in variance.indices { variance[j] = (variance[j] * old + windowVariance[j] * tokens) / total }
        }
        tokenCount += term.tokens
        let rescale = Float(Double(windowCount) / Double(windowCount + 1))
        windowCount += 1
        let n = Float(windowCount)
        for j in sumMetric.indices { sumMetric[j] = sumMetric[j] * rescale + sums[j] / n }
    }
}

/// Which statistics a method needs. Wanda's `S` is always collected: OWL, DSnoT and DaSS all
/// read it, and it is the cheapest.
public struct StatisticKinds: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let hessian = StatisticKinds(rawValue: 1)
    public static let dsnot = StatisticKinds(rawValue: 2)
}

/// All statistics of one linear, fed once per calibration window from the linear's input.
/// DaSS needs no entry of its own: its intermediate norms are `S` of `down_proj` (§3.4).
public struct LinearStatistics: Sendable, Equatable {
    public var wanda: WandaStatistic
    public var hessian: HessianStatistic?
    public var dsnot: DSnoTStatistic?

    public init(columns: Int, collecting kinds: StatisticKinds = []) {
        wanda = WandaStatistic(columns: columns)
        hessian = kinds.contains(.hessian) ? HessianStatistic(columns: columns) : nil
        dsnot = kinds.contains(.dsnot) ? DSnoTStatistic(columns: columns) : nil
    }

    public var columns: Int { wanda.scalerRow.count }

    public mutating func add(window x: Matrix) { fold(Self.term(window: x, index: wanda.windowCount, collecting: kinds)) }

    /// What this statistic collects.
    public var kinds: StatisticKinds {
        var k: StatisticKinds = []
        if hessian != nil { k.insert(.hessian) }
        if dsnot != nil { k.insert(.dsnot) }
        return k
    }

    /// Everything window number `index` contributes, computed from that window alone.
    public struct Term: Sendable {
        public var wanda: [Float]
        public var hessian: Matrix?
        public var dsnot: DSnoTStatistic.Term?
    }

    public static func term(window x: Matrix, index: Int, collecting kinds: StatisticKinds) -> Term {
        Term(wanda: WandaStatistic.term(window: x),
             hessian: kinds.contains(.hessian) ? HessianStatistic.term(window: x, index: index) : nil,
             dsnot: kinds.contains(.dsnot) ? DSnoTStatistic.term(window: x) : nil)
    }

    /// Applies the next window's term; terms must arrive in window order (`index` = windows seen).
    public mutating func fold(_ term: Term) {
        wanda.fold(term.wanda)
        if let h = term.hessian { hessian!.fold(h) }
        if let d = term.dsnot { dsnot!.fold(d) }
    }
}
