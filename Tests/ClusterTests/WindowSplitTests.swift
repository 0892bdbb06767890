import Cluster
@testable import Distribution
import Model
import Pruning
import Tensor
import Testing

/// The pieces of the windows split that need no MPI: window shares, the rank layout, the linear
/// assignment, and the property the rank-order chain rests on — statistics folded from per-window
/// terms, with the running state flattened and restored at any rank boundary, equal `add` over all
/// windows bit for bit.
@Suite struct WindowSplitTests {
    let shape = BlockShape(hiddenSize: 8, intermediateSize: 12, heads: 2, kvHeads: 1, headDim: 4, rmsNormEpsilon: 1e-5)

    @Test func sharesAreContiguousInRankOrderAndCoverEveryWindow() {
        for (count, ranks) in [(7, 3), (4, 4), (2, 3), (128, 4), (0, 2)] {
            let shares = (0..<ranks).map { windowShare(count: count, ranks: ranks, rank: $0) }
            #expect(shares.first!.lowerBound == 0 && shares.last!.upperBound == count)
            for r in 1..<ranks { #expect(shares[r].lowerBound == shares[r - 1].upperBound) }
            #expect(shares.map(\.count).max()! - shares.map(\.count).min()! <= 1, "\(count) over \(ranks): \(shares)")
        }
        // 7 windows over 3 ranks: 3, 2, 2 (larger shares first).
        #expect((0..<3).map { windowShare(count: 7, ranks: 3, rank: $0) } == [0..<3, 3..<5, 5..<7])
    }

    @Test func layoutOwnsEveryBlockOnce() throws {
        let layout = try RankLayout(blocks: 30, parameterCountPerBlock: 5, windows: 16, ranks: 4)
        #expect(layout.blockRanges == [0..<8, 8..<15, 15..<23, 23..<30])
        #expect((0..<30).map(layout.owner(ofBlock:)) == (0..<4).flatMap { r in Array(repeating: r, count: layout.blockRanges[r].count) })
        #expect(layout.windowShares == [0..<4, 4..<8, 8..<12, 12..<16])
    }

    /// SmolLM2's shapes with SparseGPT: down_proj (cols 1536) dominates and gets a rank of its own.
    @Test func assignmentBalancesByCost() {
        let smol = BlockShape(hiddenSize: 576, intermediateSize: 1536, heads: 9, kvHeads: 3, headDim: 64, rmsNormEpsilon: 1e-5)
        let two = LinearAssignment(shape: smol, method: .sparsegpt, ranks: 2)
        #expect(two.rank(of: .down) == 0)
        #expect(BlockLinear.allCases.filter { $0 != .down }.allSatisfy { two.rank(of: $0) == 1 })
        let one = LinearAssignment(shape: smol, method: .wanda, ranks: 1)
        #expect(BlockLinear.allCases.allSatisfy { one.rank(of: $0) == 0 })
        let eight = LinearAssignment(shape: smol, method: .wanda, ranks: 8)
        #expect(Set(BlockLinear.allCases.map { eight.rank(of: $0) }).count == 7, "seven linears on seven distinct ranks")
        // Wanda's per-row selection is linear in the weights: at R = 2 the deal is gate + down
        // against up + q + k + v + o, 1 769 472 weights each (the bound allows one k_proj).
        let wanda = LinearAssignment(shape: smol, method: .wanda, ranks: 2)
        let weights = (0..<2).map { r in
            BlockLinear.allCases.filter { wanda.rank(of: $0) == r }.reduce(0) { $0 + smol.weightShape($1).rows * smol.weightShape($1).cols }
        }
        #expect(abs(weights[0] - weights[1]) <= smol.weightShape(.k).rows * smol.weightShape(.k).cols, "\(weights)")
    }

    func randomWindows(_ count: Int, rows: Int, cols: Int, seed: UInt64) -> [Matrix] {
        var state = seed
        func next() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 997
        }
        return (0..<count).map { _ in Matrix(rows: rows, cols: cols, elements: (0..<(rows * cols)).map { _ in next() }) }
    }

    /// The chain's claim, without MPI: for every way of cutting 7 windows into a prefix and the
    /// rest, "fold the prefix, flatten, restore, fold the rest" equals `add` of every window.
    @Test(arguments: [StatisticKinds([]), .hessian, .dsnot, [.hessian, .dsnot]])
    func foldingFromARestoredStateEqualsAddingEveryWindow(kinds: StatisticKinds) {
        let inputs: [(LinearInput, Int)] = [(.attention, 8), (.attentionOutput, 8), (.mlp, 8), (.down, 12)]
        let windows = inputs.map { randomWindows(7, rows: 5, cols: $0.1, seed: UInt64($0.1) + 3) }
        var reference = BlockStatistics(shape: shape, collecting: kinds)
        for w in 0..<7 { for (i, (input, _)) in inputs.enumerated() { reference.add(input, window: windows[i][w]) } }
        let terms = (0..<7).map { w in
            BlockStatistics.term(observed: inputs.enumerated().map { ($0.element.0, windows[$0.offset][w]) }, index: w, collecting: kinds)
        }
        for cut in 0...7 {
            var first = BlockStatistics(shape: shape, collecting: kinds)
            for t in terms[..<cut] { first.fold(t) }
            var second = BlockStatistics(shape: shape, collecting: kinds)
            second.restore(first.flattened(), windows: cut, tokensPerWindow: 5)
            for t in terms[cut...] { second.fold(t) }
            #expect(second.flattened() == reference.flattened(), "cut after \(cut) windows")
            for input in BlockStatistics.inputOrder {
                #expect(second.byInput[input] == reference.byInput[input], "cut \(cut), \(input)")
            }
        }
        // The comparison can fail: dropping a window changes the statistics.
        var short = BlockStatistics(shape: shape, collecting: kinds)
        for t in terms.dropLast() { short.fold(t) }
        #expect(short.flattened() != reference.flattened())
    }
}
