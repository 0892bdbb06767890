import Distribution
import Foundation
import Model
import Pruning

/// Which rank prunes which of a block's seven linears in the windows split: longest-processing-
/// time-first over an operation-count model, ties broken by linear order and then by rank, so
/// every rank computes the same assignment without talking. The result does not depend on it —
/// each linear is pruned by the same pure function wherever it runs.
///
/// Cost model (multiply-adds, constants dropped): SparseGPT factors the damped Hessian three
/// times in float64 (~cols³) and sweeps the columns with lazy batch updates (~rows·cols²);
/// Wanda, magnitude, RIA and DSnoT select per row by quickselect (`Selection.smallestPerRow`,
/// expected O(cols)) and check and share the result per weight, so ~rows·cols. (A sort's
/// rows·cols·log₂cols put down_proj's larger log on one rank and cost SmolLM2 at R = 2 a 14%
/// imbalance in measured solve time, 1.17 vs 1.02 s.) Whole linears, except plain
/// SparseGPT, whose sweeps `RowSplitSparseGPT` splits by rows over all ranks (one collective per
/// 128-column tile keeps the reference's joint threshold); there only the factorizations are
/// dealt, by `FactorAssignment`.
public struct LinearAssignment: Sendable {
    private let ranks: [BlockLinear: Int]

    public static func cost(rows: Int, cols: Int, method: PruningMethod) -> Double {
        let r = Double(rows), c = Double(cols)
        switch method {
        case .sparsegpt: return c * c * c + r * c * c
        case .wanda, .magnitude, .ria: return r * c
        }
    }

    public init(shape: BlockShape, method: PruningMethod, ranks count: Int) {
        self.init(ranks: count, costs: BlockLinear.allCases.map { l in
            let s = shape.weightShape(l)
            return (l, Self.cost(rows: s.rows, cols: s.cols, method: method))
        })
    }

    private init(ranks count: Int, costs: [(BlockLinear, Double)]) {
        ranks = longestFirst(costs, ranks: count)
    }

    public func rank(of linear: BlockLinear) -> Int { ranks[linear]! }
}

/// Which rank factors which input's Hessian, and which linears a rank sweeps alone, when plain
/// SparseGPT is row-split (`RowSplitSparseGPT`, docs/design.md §3 "Row-parallel SparseGPT").
///
/// The linears that read one input share its Hessian and so its inverse-Hessian factor (q/k/v,
/// gate/up): four factorizations per block, each ~`cols³`, dealt longest first. In a LLaMA block
/// down_proj's is by far the largest (SmolLM2: 1536³ against 3 × 576³; it is about half of the
/// block's whole solve), so the rank that factors it is busy long after the others have
/// factored theirs. Why solo sweeps: rather than wait for it, a rank with spare time sweeps,
/// alone and over all rows, the linears whose factor it computed itself — no message is needed
/// for that, and one rank's full sweep is the one-rank result bit for bit. A linear goes solo
/// only while its factorizer's load (factors plus solo sweeps, ~`rows·cols²` each, largest
/// first) stays within the busiest factorizer's, so the solo phase ends no later than the
/// largest factorization; every other linear (down_proj always) is swept by all ranks on their
/// rows afterwards. Every rank computes the same schedule alone, from the shape and the set of
/// linears that are swept.
public struct FactorAssignment: Sendable {
    private let ranks: [LinearInput: Int]
    /// Linears swept whole by one rank before the row-split phase, and that rank.
    public let solo: [BlockLinear: Int]

    static func factorCost(cols: Int) -> Double { Double(cols) * Double(cols) * Double(cols) }
    static func sweepCost(rows: Int, cols: Int) -> Double { Double(rows) * Double(cols) * Double(cols) }

    /// - Parameter swept: the linears the block sweeps (a linear the plan leaves dense needs no
    ///   factor and no sweep); nil: all seven.
    public init(shape: BlockShape, ranks count: Int, swept: Set<BlockLinear>? = nil) {
        let swept = swept ?? Set(BlockLinear.allCases)
        let inputs = LinearInput.allCases.filter { input in swept.contains { $0.input == input } }
        let costs = inputs.map { input in
            Self.factorCost(cols: shape.weightShape(BlockLinear.allCases.first { $0.input == input }!).cols)
        }
        let dealt = LongestFirst.deal(costs: costs, bins: count)
        ranks = Dictionary(uniqueKeysWithValues: zip(inputs, dealt))
        var load = [Double](repeating: 0, count: count)
        for (cost, rank) in zip(costs, dealt) { load[rank] += cost }
        let bound = load.max() ?? 0
        var solo: [BlockLinear: Int] = [:]
        if count > 1 {
            let candidates = BlockLinear.allCases.filter { swept.contains($0) }
            let order = candidates.indices.sorted { a, b in
                let ca = Self.sweepCost(rows: shape.weightShape(candidates[a]).rows, cols: shape.weightShape(candidates[a]).cols)
                let cb = Self.sweepCost(rows: shape.weightShape(candidates[b]).rows, cols: shape.weightShape(candidates[b]).cols)
                return ca != cb ? ca > cb : a < b
            }
            for index in order {
                let linear = candidates[index], s = shape.weightShape(linear)
                let rank = ranks[linear.input]!, cost = Self.sweepCost(rows: s.rows, cols: s.cols)
                if load[rank] + cost <= bound {
                    solo[linear] = rank
                    load[rank] += cost
                }
            }
        }
        self.solo = solo
    }

    /// The rank that factors `input` (inputs no swept linear reads have none).
    public func rank(of input: LinearInput) -> Int { ranks[input]! }

    /// Whether `input` is factored at all (some swept linear reads it).
    public func factors(_ input: LinearInput) -> Bool { ranks[input] != nil }

    /// The busiest rank's cost units for the block: the solo phase (never longer than the largest
    /// factorizer's load) plus `1/R` of every row-split sweep.
    public static func makespan(shape: BlockShape, ranks count: Int) -> Double {
        let a = FactorAssignment(shape: shape, ranks: count)
        var load = [Double](repeating: 0, count: count)
        var split = 0.0
        for input in LinearInput.allCases {
            load[a.rank(of: input)] += factorCost(cols: shape.weightShape(BlockLinear.allCases.first { $0.input == input }!).cols)
        }
        for l in BlockLinear.allCases {
            let s = shape.weightShape(l)
            if let r = a.solo[l] { load[r] += sweepCost(rows: s.rows, cols: s.cols) } else { split += sweepCost(rows: s.rows, cols: s.cols) }
        }
        return (load.max() ?? 0) + split / Double(count)
    }
}

/// Which rank writes which of a block's seven linears — its bytes in the output shard and its
/// part of the resume journal — when every rank holds the pruned block (the windows split):
/// longest first by element count. Why: writing is CPU work here (page-cache copies; measured
/// ≈ 4 ms per MB on this machine type, a sixth of a one-rank Wanda prune of SmolLM2), and the
/// windows split moves in lockstep, so one writer per block would make every other rank wait
/// for it; dealt, each rank writes about 1/R of every block. The bytes do not depend on who
/// writes them (each tensor has its fixed offset), nor does the journal's content.
public struct WriteAssignment: Sendable {
    private let ranks: [BlockLinear: Int]

    /// - Parameter elementCounts: each linear's element count (rows × cols).
    public init(elementCounts: [BlockLinear: Int], ranks count: Int) {
        ranks = longestFirst(BlockLinear.allCases.map { ($0, Double(elementCounts[$0] ?? 0)) }, ranks: count)
    }

    public init(shape: BlockShape, ranks count: Int) {
        self.init(elementCounts: Dictionary(uniqueKeysWithValues: BlockLinear.allCases.map { l in
            let s = shape.weightShape(l)
            return (l, s.rows * s.cols)
        }), ranks: count)
    }

    public func rank(of linear: BlockLinear) -> Int { ranks[linear]! }

    /// The linears `rank` writes, in linear order.
    public func linears(of rank: Int) -> [BlockLinear] { BlockLinear.allCases.filter { ranks[$0] == rank } }
}

/// `LongestFirst.deal` keyed by item.
private func longestFirst<Item: Hashable>(_ costs: [(Item, Double)], ranks count: Int) -> [Item: Int] {
    Dictionary(uniqueKeysWithValues: zip(costs.map(\.0), LongestFirst.deal(costs: costs.map(\.1), bins: count)))
}
