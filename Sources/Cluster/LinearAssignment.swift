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
/// Wanda, magnitude and DSnoT select per row (~rows·cols·log₂cols). Whole linears, except plain
/// SparseGPT, whose sweeps `RowSplitSparseGPT` splits by rows over all ranks (one collective per
/// 128-column tile keeps the reference's joint threshold); there only the factorizations are
/// dealt, by `init(shape:factorsOf:ranks:)`.
public struct LinearAssignment: Sendable {
    private let ranks: [BlockLinear: Int]

    static func cost(rows: Int, cols: Int, method: PruningMethod) -> Double {
        let r = Double(rows), c = Double(cols)
        switch method {
        case .sparsegpt: return c * c * c + r * c * c
        case .wanda, .magnitude, .ria: return r * c * log2(max(c, 2))
        }
    }

    public init(shape: BlockShape, method: PruningMethod, ranks count: Int) {
        self.init(ranks: count, costs: BlockLinear.allCases.map { l in
            let s = shape.weightShape(l)
            return (l, Self.cost(rows: s.rows, cols: s.cols, method: method))
        })
    }

    /// Owners of the SparseGPT factorizations when the sweeps are row-split over all ranks
    /// (`RowSplitSparseGPT`): each costs `cols³`, whatever the rows.
    public init(shape: BlockShape, factorsOf method: PruningMethod, ranks count: Int) {
        self.init(ranks: count, costs: BlockLinear.allCases.map { l in
            let c = Double(shape.weightShape(l).cols)
            return (l, c * c * c)
        })
    }

    private init(ranks count: Int, costs: [(BlockLinear, Double)]) {
        var load = [Double](repeating: 0, count: count)
        var assigned: [BlockLinear: Int] = [:]
        let order = costs.enumerated().sorted { a, b in
            a.element.1 > b.element.1 || (a.element.1 == b.element.1 && a.offset < b.offset)
        }
        for (_, (linear, cost)) in order {
            let target = load.indices.min { load[$0] < load[$1] || (load[$0] == load[$1] && $0 < $1) }!
            assigned[linear] = target
            load[target] += cost
        }
        ranks = assigned
    }

    public func rank(of linear: BlockLinear) -> Int { ranks[linear]! }
}
