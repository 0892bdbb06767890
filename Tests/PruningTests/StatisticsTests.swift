import Testing
import Tensor
@testable import Pruning

/// Running per-window updates (docs/algorithms.md §3) against their closed forms, in float64.
@Suite struct StatisticsTests {
    let windows: [Matrix] = {
        var random = TestRandom(seed: 7)
        return (0..<5).map { _ in random.matrix(6, 4) }
    }()

    @Test func wandaStatisticIsSumOfSquaresOverWindowCount() {
        var s = WandaStatistic(columns: 4)
        for w in windows { s.add(window: w) }
        for j in 0..<4 {
            let exact = windows.map { w in (0..<w.rows).map { Double(w[$0, j]) * Double(w[$0, j]) }.reduce(0, +) }.reduce(0, +) / 5
            #expect(abs(Double(s.scalerRow[j]) - exact) <= 1e-5 * max(1, exact))
        }
        #expect(s.windowCount == 5)
    }

    @Test func hessianIsTwiceGramOverWindowCountAndSymmetric() {
        var h = HessianStatistic(columns: 4)
        for w in windows { h.add(window: w) }
        for i in 0..<4 {
            for j in 0..<4 {
                let exact = 2.0 / 5 * windows.map { w in (0..<w.rows).map { Double(w[$0, i]) * Double(w[$0, j]) }.reduce(0, +) }.reduce(0, +)
                #expect(abs(Double(h.hessian[i, j]) - exact) <= 1e-5 * max(1, abs(exact)))
                #expect(h.hessian[i, j] == h.hessian[j, i])
            }
        }
    }

    @Test func dsnotStatisticsMatchClosedForms() {
        var d = DSnoTStatistic(columns: 4)
        for w in windows { d.add(window: w) }
        for j in 0..<4 {
            let sums = windows.map { w in (0..<w.rows).map { Double(w[$0, j]) }.reduce(0, +) }
            let variances = windows.enumerated().map { i, w -> Double in
                let mu = sums[i] / Double(w.rows)
                return (0..<w.rows).map { (Double(w[$0, j]) - mu) * (Double(w[$0, j]) - mu) }.reduce(0, +) / Double(w.rows)
            }
            #expect(abs(Double(d.sumMetric[j]) - sums.reduce(0, +) / 5) <= 1e-5)
            #expect(abs(Double(d.variance[j]) - variances.reduce(0, +) / 5) <= 1e-5)
        }
        #expect(d.tokenCount == 30)
    }

    @Test func linearStatisticsCollectOnlyWhatIsAsked() {
        var stats = LinearStatistics(columns: 4, collecting: requiredStatistics(method: .sparsegpt, options: PruningOptions()))
        for w in windows { stats.add(window: w) }
        #expect(stats.hessian?.windowCount == 5)
        #expect(stats.dsnot == nil)
        #expect(stats.wanda.windowCount == 5)
    }
}
