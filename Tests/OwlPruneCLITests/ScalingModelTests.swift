@testable import OwlPruneKit
@testable import owlprune
import Model
import Pruning
import Testing

/// The scaling model of `bench cluster`: fitted on a one-rank run it reproduces that run, and its
/// terms behave as the windows split does (compute shrinks with the busiest rank's share,
/// communication grows with the chain's length).
@Suite struct ScalingModelTests {
    let shape = BlockShape(hiddenSize: 576, intermediateSize: 1536, heads: 9, kvHeads: 3, headDim: 64, rmsNormEpsilon: 1e-5)

    func job(_ method: PruningMethod, windows: Int = 16) -> ScalingModel.Job {
        ScalingModel.Job(shape: shape, blocks: 30, windows: windows, length: 256, method: method,
                         kinds: requiredStatistics(method: method, options: PruningOptions()), owl: true, storedBytesPerWeight: 2)
    }

    @Test func fittedModelReproducesTheOneRankRun() {
        let j = job(.wanda)
        let rates = ScalingModel.fit(job: j, computeSeconds: 40, solveSeconds: 6, loadSeconds: 0.5, otherSeconds: 1.5)
        let model = ScalingModel(rates: rates, bandwidth: 1e9, latency: 1e-5)
        let one = model.predict(j, ranks: 1, concurrency: 1)
        #expect(abs(one.seconds - 48) < 1e-9, "predicted \(one.seconds) s for a 48 s run")
        #expect(one.commSeconds == 0)
        // Two ranks: half the windows each; Wanda's down_proj makespan, comm > 0.
        let two = model.predict(j, ranks: 2, concurrency: 2)
        #expect(abs(two.computeSeconds - 20) < 1e-9)
        #expect(two.commSeconds > 0 && two.solveSeconds < 6 && two.solveSeconds >= 3)
        // 3 ranks on 16 windows: the busiest rank has 6, not 16/3.
        #expect(abs(model.predict(j, ranks: 3, concurrency: 3).computeSeconds - 40 * 6 / 16) < 1e-9)
        // On one core, two ranks gain nothing in compute.
        #expect(abs(model.predict(j, ranks: 2, concurrency: 1).computeSeconds - 40) < 1e-9)
    }

    /// SparseGPT's Hessian state (columns² per input) makes the chain's cost grow with R.
    @Test func hessianChainCostGrowsWithRanks() {
        let j = job(.sparsegpt)
        #expect(j.statisticsBytes > 500 * job(.wanda).statisticsBytes)
        let model = ScalingModel(rates: .init(flopsPerSecond: 5e10, solveUnitsPerSecond: 1e9, loadBytesPerSecond: 1e9, otherSeconds: 1),
                                 bandwidth: 1.25e9, latency: 2e-5)
        let c4 = model.predict(j, ranks: 4, concurrency: 4).commSeconds, c16 = model.predict(j, ranks: 16, concurrency: 16).commSeconds
        #expect(c16 > 2 * c4, "chain of 15 hops vs 3: \(c16) vs \(c4)")
    }
}
