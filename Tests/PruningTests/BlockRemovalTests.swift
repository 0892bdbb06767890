import Pruning
import Tensor
import Testing

/// Issue 12 item 6: ShortGPT's Block Influence and SLEB's selection rules on hand-computed cases.
@Suite struct BlockRemovalTests {
    /// Rows: orthogonal (cos 0), parallel with different lengths (cos 1), opposite (cos −1), and a
    /// zero input (NaN → 0.5, as icip-cas/ShortGPT's `nan_to_num(nan=0.5)`).
    @Test func cosineSumOfAHandBuiltCase() {
        let x = Matrix(rows: 4, cols: 2, elements: [1, 0, 1, 1, 3, 4, 0, 0])
        let y = Matrix(rows: 4, cols: 2, elements: [0, 2, 2, 2, -6, -8, 1, 1])
        let sum = BlockInfluence.cosineSum(input: x, output: y)
        #expect(abs(sum - (0 + 1 - 1 + 0.5)) < 1e-15, "\(sum)")
        #expect(abs(BlockInfluence.score(cosineSum: sum, tokens: 4) - (1 - 0.5 / 4)) < 1e-15)
        // cos(x, y) for x = (1, 2), y = (2, 1): 4 / 5.
        let c = BlockInfluence.cosineSum(input: Matrix(rows: 1, cols: 2, elements: [1, 2]), output: Matrix(rows: 1, cols: 2, elements: [2, 1]))
        #expect(abs(c - 0.8) < 1e-15)
    }

    @Test func lowestScoresBreakTiesByBlockIndex() {
        #expect(BlockInfluence.lowest([0.3, 0.1, 0.1, 0.2], count: 1) == [1])
        #expect(BlockInfluence.lowest([0.3, 0.1, 0.1, 0.2], count: 3) == [1, 2, 3])
        #expect(BlockInfluence.lowest([0.5, 0.4, 0.3, 0.2], count: 2) == [2, 3])
    }

    @Test func slebCandidatesSkipTheFirstAndLastAliveBlock() {
        #expect(SLEBSearch.candidates(alive: [0, 1, 2, 3, 4]) == [1, 2, 3])
        #expect(SLEBSearch.candidates(alive: [0, 2, 4]) == [2])
        #expect(SLEBSearch.candidates(alive: [0, 4]) == [])
        #expect(SLEBSearch.maxRemovable(blocks: 6) == 4)
        #expect(SLEBSearch.pick(losses: [3, 1, 1, 2]) == 1)
        #expect(SLEBSearch.pick(losses: [2]) == 0)
    }
}
