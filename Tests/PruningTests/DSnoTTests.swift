import Testing
import Tensor
@testable import Pruning

@Suite struct DSnoTTests {
    /// docs/algorithms.md §9.2 worked example: one row, 6 columns, s = 0.5, θ = 0.1, p = 1.
    static let w = Matrix([[0.5, -0.4, 0.3, 0.2, -0.6, 0.1]])
    static let s: [Float] = [1, 1, 4, 1, 1, 4]
    static var statistic: DSnoTStatistic {
        var d = DSnoTStatistic(columns: 6)
        d.sumMetric = [1.0, 1.0, 0.5, 3.0, 1.0, 1.0]
        d.variance = [1, 1, 1, 2, 1, 1]
        return d
    }

    static func refine(signConstraint: Bool) throws -> PruningMask {
        var options = DSnoTOptions()
        options.signConstraint = signConstraint
        return try dsnotMask(weight: w, initialMetric: wandaMetric(weight: w, scalerRow: s), scalerRow: s,
                             statistic: statistic, sparsity: 0.5, pattern: .unstructured, options: options, layer: "t")
    }

    @Test func workedExampleWithoutSignConstraint() throws {
        // Initial P = {3, 5, 1}, ε = 0.3; regrow 3 / prune 4 → ε = −0.9; regrow 1 / prune 0 → ε = 0.0; stop.
        #expect(try Self.refine(signConstraint: false).prunedColumns(row: 0) == [0, 4, 5])
    }

    @Test func workedExampleWithSignConstraintStopsBeforeTheSignFlip() throws {
        // The first swap would take ε from +0.3 to −0.9, against the initial sign: the row keeps
        // its Wanda mask (the project default).
        #expect(DSnoTOptions().signConstraint)
        #expect(try Self.refine(signConstraint: true).prunedColumns(row: 0) == [1, 3, 5])
    }

    @Test func nOfMSwapStaysInsideTheRegrownColumnsGroup() throws {
        // 1:4, m = 1, v = 1, S = 1: I = A = |W|. Initial pruned {1} (0.15), ε = c1 = −0.15.
        // ε ≤ 0 → regrow the lo end of G = [1] (g = −0.15 < 0); prune the kept column of that
        // group with the smallest I: column 2 (0.2). ε' = −0.15 − 0.2 + 0.15 = −0.2, same sign
        // → swap. G is exhausted next cycle. Final {2}.
        let w = Matrix([[0.5, -0.15, -0.2, 0.9]])
        var d = DSnoTStatistic(columns: 4)
        d.sumMetric = [1, 1, 1, 1]
        d.variance = [1, 1, 1, 1]
        let ones: [Float] = [1, 1, 1, 1]
        let mask = try dsnotMask(weight: w, initialMetric: wandaMetric(weight: w, scalerRow: ones), scalerRow: ones,
                                 statistic: d, sparsity: 0, pattern: .nOfM(n: 1, m: 4), options: DSnoTOptions(), layer: "t")
        #expect(mask.prunedColumns(row: 0) == [2])
    }

    @Test func refinementKeepsCountsOnRandomData() throws {
        var random = TestRandom(seed: 81)
        let w = random.matrix(8, 32)
        let s = (0..<32).map { _ in abs(random.uniform()) + 0.1 }
        var d = DSnoTStatistic(columns: 32)
        d.sumMetric = (0..<32).map { _ in random.uniform() * 3 }
        d.variance = (0..<32).map { _ in abs(random.uniform()) + 0.05 }
        let metric = wandaMetric(weight: w, scalerRow: s)
        for constraint in [false, true] {
            var options = DSnoTOptions()
            options.signConstraint = constraint
            options.updateThreshold = 0.01
            let unstructured = try dsnotMask(weight: w, initialMetric: metric, scalerRow: s, statistic: d,
                                             sparsity: 0.7, pattern: .unstructured, options: options, layer: "t")
            for r in 0..<8 { #expect(unstructured.prunedColumns(row: r).count == prunedCount(of: 32, sparsity: 0.7)) }
            let nm = try dsnotMask(weight: w, initialMetric: metric, scalerRow: s, statistic: d,
                                   sparsity: 0, pattern: .nOfM(n: 2, m: 4), options: options, layer: "t")
            for r in 0..<8 {
                for g in stride(from: 0, to: 32, by: 4) { #expect((g..<(g + 4)).filter { nm[r, $0] }.count == 2) }
            }
        }
    }
}
