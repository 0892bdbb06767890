import Cluster
import Model
import Testing

/// Issue 29 item 3: row-split SparseGPT's schedule. On SmolLM2's shape the rank that factors
/// down_proj's 1536-wide Hessian is the busiest; the solo phase gives the other ranks the
/// sweeps of the linears whose factor they hold, within that rank's load, and never down_proj.
@Suite struct FactorAssignmentTests {
    let smol = BlockShape(hiddenSize: 576, intermediateSize: 1536, heads: 9, kvHeads: 3, headDim: 64, rmsNormEpsilon: 1e-5)

    func cube(_ c: Int) -> Double { Double(c) * Double(c) * Double(c) }
    func sweep(_ l: BlockLinear) -> Double {
        let s = smol.weightShape(l)
        return Double(s.rows) * Double(s.cols) * Double(s.cols)
    }

    @Test func twoRanksSweepEverySmallLinearBesideDownProjsFactorization() {
        let a = FactorAssignment(shape: smol, ranks: 2)
        let downRank = a.rank(of: .down)
        #expect(a.solo[.down] == nil)
        #expect(Set(a.solo.keys) == [.q, .k, .v, .o, .gate, .up])
        for (linear, rank) in a.solo {
            #expect(rank == a.rank(of: linear.input), "\(linear) swept solo by a rank without its factor")
            #expect(rank != downRank)
        }
        // The solo rank's load (its factors and sweeps) stays within down_proj's factorization.
        let other = 1 - downRank
        var load = a.solo.keys.reduce(0.0) { $0 + sweep($1) }
        for input in LinearInput.allCases where a.rank(of: input) == other {
            load += cube(smol.weightShape(BlockLinear.allCases.first { $0.input == input }!).cols)
        }
        #expect(load <= cube(1536))
        // Busiest rank: down's factor plus half of down's sweep, below the old schedule's
        // down factor plus half of every sweep.
        let old = cube(1536) + BlockLinear.allCases.reduce(0.0) { $0 + sweep($1) } / 2
        #expect(FactorAssignment.makespan(shape: smol, ranks: 2) == cube(1536) + sweep(.down) / 2)
        #expect(FactorAssignment.makespan(shape: smol, ranks: 2) < old)
    }

    @Test func threeRanksShareTheSoloSweepsAndOneRankHasNone() {
        let a = FactorAssignment(shape: smol, ranks: 3)
        #expect(a.solo[.down] == nil)
        #expect(Set(a.solo.values).count == 2)
        #expect(!a.solo.values.contains(a.rank(of: .down)))
    }

    /// Controls: one rank sweeps nothing solo (nobody waits), and a linear that is not swept
    /// is neither factored nor solo.
    @Test func oneRankAndUnsweptLinearsHaveNoSoloSweeps() {
        #expect(FactorAssignment(shape: smol, ranks: 1).solo.isEmpty)
        let a = FactorAssignment(shape: smol, ranks: 2, swept: [.down, .o])
        #expect(!a.factors(.attention) && !a.factors(.mlp) && a.factors(.down) && a.factors(.attentionOutput))
        #expect(Set(a.solo.keys) == [.o])
    }
}
