import Foundation
import Tensor
import Testing
@testable import Pruning

/// RIA against a hand-computed case (biomedical-cybernetics/Relative-importance-and-activation-pruning
/// `prune_ria`: column share + row share of |W|, times sqrt(S)^0.5; one threshold per matrix).
@Suite struct RIATests {
    // W = [[1, -2], [3, 4]], S = [4, 16]: column sums [4, 6], row sums [3, 7], sqrt(S)^0.5 = [√2, 2].
    let w = Matrix([[1, -2], [3, 4]])
    let s: [Float] = [4, 16]

    @Test func metricByHand() {
        let m = RIA.metric(weight: w, scalerRow: s)
        let r2 = Float(2).squareRoot()
        let want: [Float] = [(1.0 / 4 + 1.0 / 3) * r2, (2.0 / 6 + 2.0 / 3) * 2, (3.0 / 4 + 3.0 / 7) * r2, (4.0 / 6 + 4.0 / 7) * 2]
        for (a, b) in zip(m.elements, want) { #expect(abs(a - b) <= 1e-6 * b) }
    }

    /// k = floor(4·0.5) = 2; τ = sorted metric[2] = 2.0 (the −2); so three of four go, keeping only
    /// the 4 — unlike Wanda's per-row rule, which would keep −2 and 4.
    @Test func unstructuredIsOneThresholdPerMatrix() throws {
        let pruned = try pruneLinear(weight: w, id: LinearID(block: 0, kind: .q), statistics: statistics(),
                                     method: .ria, sparsity: 0.5, pattern: .unstructured)
        #expect(pruned.weight.elements == [0, 0, 0, 4])
        #expect(pruned.prunedCount == 3)
        let wanda = try pruneLinear(weight: w, id: LinearID(block: 0, kind: .q), statistics: statistics(),
                                    method: .wanda, sparsity: 0.5, pattern: .unstructured)
        #expect(wanda.weight.elements == [0, -2, 0, 4])
    }

    @Test func nOfMPerRowGroup() throws {
        let wide = Matrix([[1, -2, 3, 0.5], [4, 1, -1, 2]])
        var stats = LinearStatistics(columns: 4, collecting: [])
        stats.add(window: Matrix([[1, 1, 1, 1]]))
        let pruned = try pruneLinear(weight: wide, id: LinearID(block: 0, kind: .up), statistics: stats,
                                     method: .ria, sparsity: 0.5, pattern: .nOfM(n: 2, m: 4))
        for r in 0..<2 { #expect((0..<4).filter { pruned.weight[r, $0] == 0 }.count == 2) }
    }

    func statistics() -> LinearStatistics {
        // One window of one token [2, 4] gives S = [4, 16] exactly.
        var stats = LinearStatistics(columns: 2, collecting: [])
        stats.add(window: Matrix([[2, 4]]))
        return stats
    }
}

/// A non-finite calibration statistic is an error naming the layer and column, for every method.
@Suite struct NonFiniteStatisticTests {
    @Test(arguments: [PruningMethod.wanda, .ria, .sparsegpt]) func refused(_ method: PruningMethod) {
        var stats = LinearStatistics(columns: 2, collecting: method == .sparsegpt ? [.hessian] : [])
        stats.add(window: Matrix([[Float.infinity, 1]]))
        let error = #expect(throws: PruningError.self) {
            try pruneLinear(weight: Matrix([[1, 2], [3, 4]]), id: LinearID(block: 3, kind: .up), statistics: stats,
                            method: method, sparsity: 0.5, pattern: .unstructured)
        }
        #expect(error?.localizedDescription.hasPrefix("layer model.layers.3.mlp.up_proj: the Wanda statistic is not finite at input column 0") == true)
    }
}
