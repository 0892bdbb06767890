import Foundation
import Tensor
import Testing
@testable import Pruning

@Suite struct SparsityPlanTests {
    static func plan() throws -> SparsityPlan {
        var p = try SparsityPlan.make(method: .wanda, pattern: .unstructured, target: 0.7, allocation: .defaultOWL,
                                      blocks: 4, outlierRatios: [2, 5, 3, 6])
        p.seed = 0
        p.modelID = "SmolLM2-135M-Instruct"
        return p
    }

    @Test func hashIsDeterministicAndSensitive() throws {
        let a = try Self.plan(), b = try Self.plan()
        #expect(try a.canonicalJSON() == b.canonicalJSON())
        #expect(try a.stableHash() == b.stableHash())
        var c = a
        c.blockSparsities[2] = c.blockSparsities[2].nextUp
        #expect(try c.stableHash() != a.stableHash())
        var d = a
        d.allocation = .owl(m: 5, lambda: 0.0800001)
        #expect(try d.stableHash() != a.stableHash())
    }

    @Test func jsonHasSortedKeysAndRoundTrips() throws {
        let a = try Self.plan()
        let text = String(decoding: try a.canonicalJSON(), as: UTF8.self)
        #expect(text.hasPrefix(#"{"allocation":"owl","block_sparsities":["#))
        #expect(text.contains(#""mlp.down_proj":"#))
        let decoded = try JSONDecoder().decode(SparsityPlan.self, from: a.canonicalJSON())
        #expect(decoded == a)
        #expect(try decoded.stableHash() == a.stableHash())
    }

    @Test func planCarriesPerLinearSparsitiesAndRejectsBadInputs() throws {
        let a = try Self.plan()
        #expect(a.sparsity(block: 3, kind: .q) == a.blockSparsities[3])
        #expect(abs(a.meanBlockSparsity - 0.7) <= 1e-12)
        #expect(a.outlierRatios == [2, 5, 3, 6])
        let nm = try SparsityPlan.make(method: .sparsegpt, pattern: .nOfM(n: 2, m: 4), target: 0, allocation: .uniform, blocks: 3)
        #expect(nm.blockSparsities == [0.5, 0.5, 0.5] && nm.targetSparsity == 0.5)
        #expect(throws: PruningError.self) {
            try SparsityPlan.make(method: .wanda, pattern: .nOfM(n: 2, m: 4), target: 0.5, allocation: .defaultOWL, blocks: 3, outlierRatios: [1, 2, 3])
        }
        #expect(throws: PruningError.self) {
            try SparsityPlan.make(method: .wanda, pattern: .unstructured, target: 0.7, allocation: .defaultOWL, blocks: 3, outlierRatios: [1, 2])
        }
    }

    @Test func outlierRatioCountsStrictlyAboveMTimesMean() {
        // Values 1×9 and 20: mean = 29/10 = 2.9, threshold (M = 5) 14.5 → one outlier of 10 = 10 %.
        let metric = Tensor.Matrix(rows: 2, cols: 5, elements: [1, 1, 1, 1, 1, 1, 1, 1, 1, 20])
        #expect(outlierRatio(metrics: [metric], m: 5) == 10)
        // Exactly at the threshold does not count: mean of [0, 5] is 2.5, M = 2 → 5 is not > 5.
        #expect(outlierRatio(metrics: [Tensor.Matrix([[0, 5]])], m: 2) == 0)
    }
}
