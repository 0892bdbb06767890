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
/// Wanda, magnitude and DSnoT select per row (~rows·cols·log₂cols). Whole linears only: SparseGPT's
/// unstructured threshold is chosen jointly over all rows of each 128-column tile, so splitting
/// rows across ranks would need a collective per tile to keep the reference's semantics.
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
        var load = [Double](repeating: 0, count: count)
        var assigned: [BlockLinear: Int] = [:]
        let costs = BlockLinear.allCases.map { l -> (BlockLinear, Double) in
            let s = shape.weightShape(l)
            return (l, Self.cost(rows: s.rows, cols: s.cols, method: method))
        }
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
