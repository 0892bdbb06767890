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
    public mutating func add(window x: Matrix) {
        precondition(x.cols == scalerRow.count, "WandaStatistic: window has \(x.cols) columns, expected \(scalerRow.count)")
        let sums = x.columnSquaredSums()
        let rescale = Float(Double(windowCount) / Double(windowCount + 1))
        windowCount += 1
        let n = Float(windowCount)
        for j in scalerRow.indices {
            // torch.norm(inp, p=2, dim=1) ** 2: a float32 sqrt and a float32 square.
            let norm = sums[j].squareRoot()
            scalerRow[j] = scalerRow[j] * rescale + (norm * norm) / n
        }
    }
}

/// SparseGPT's Hessian `H = (2/N) Σ_w X_wᵀ X_w` (docs/algorithms.md §3.2; IST-DASLab/sparsegpt
/// `sparsegpt.py: SparseGPT.add_batch`), float32, updated per window with one symmetric rank-L
/// update (`ssyrk`) and mirrored to a full matrix.
public struct HessianStatistic: Sendable, Equatable {
    public var hessian: Matrix
    public var windowCount: Int

    public init(columns: Int) {
        hessian = Matrix(rows: columns, cols: columns)
        windowCount = 0
    }

    public mutating func add(window x: Matrix) {
        precondition(x.cols == hessian.cols, "HessianStatistic: window has \(x.cols) columns, expected \(hessian.cols)")
        let rescale = Float(Double(windowCount) / Double(windowCount + 1))
        windowCount += 1
        // Y = sqrt(2/n)·Xᵀ rounded to float32 first, as the reference does, then H += Y·Yᵀ.
        let factor = Float((2.0 / Double(windowCount)).squareRoot())
        let y = Matrix(rows: x.rows, cols: x.cols, elements: x.elements.map { $0 * factor })
        hessian.symmetricRankUpdate(with: y, scale: rescale, gain: 1)
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

    public mutating func add(window x: Matrix) {
        precondition(x.cols == sumMetric.count, "DSnoTStatistic: window has \(x.cols) columns, expected \(sumMetric.count)")
        let sums = x.columnSums()
        let tokens = Float(x.rows)
        let means = sums.map { $0 / tokens }
        let windowVariance = x.columnPopulationVariances(means: means)
        if tokenCount == 0 {
            variance = windowVariance
        } else {
            let old = Float(tokenCount)
            let total = Float(tokenCount + x.rows)
            for j in variance.indices { variance[j] = (variance[j] * old + windowVariance[j] * tokens) / total }
        }
        tokenCount += x.rows
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

    public mutating func add(window x: Matrix) {
        wanda.add(window: x)
        hessian?.add(window: x)
        dsnot?.add(window: x)
    }
}
