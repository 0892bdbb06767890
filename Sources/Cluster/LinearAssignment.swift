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

    static func cost(rows: Int, cols: Int, method: PruningMethod) -> Double {
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

/// Which rank factors which input's Hessian when plain SparseGPT is row-split (`RowSplitSparseGPT`):
/// the linears that read one input share its Hessian and so its inverse-Hessian factor (q/k/v,
/// gate/up), so there are four factorizations per block, each `cols³`, dealt longest first.
public struct FactorAssignment: Sendable {
    private let ranks: [LinearInput: Int]

    public init(shape: BlockShape, ranks count: Int) {
        ranks = longestFirst(LinearInput.allCases.map { input in
            let c = Double(shape.weightShape(BlockLinear.allCases.first { $0.input == input }!).cols)
            return (input, c * c * c)
        }, ranks: count)
    }

    public func rank(of input: LinearInput) -> Int { ranks[input]! }
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
