import Pruning
import Tensor
import Testing

/// LLM-Streamline's selection score and learning-rate schedule (issue 24 items 1 and 2).
@Suite struct StreamlineSelectionTests {
    /// Rows: parallel (cos 1 → 1), orthogonal (cos 0 → 0.5), opposite (cos −1 → 0), a zero state
    /// (undefined → 0.5) and cos(x, y) = 4/5 for (1, 2), (2, 1) → 0.9.
    @Test func similaritySumOfAHandBuiltCase() {
        let a = Matrix(rows: 5, cols: 2, elements: [1, 0, 1, 0, 3, 4, 0, 0, 1, 2])
        let b = Matrix(rows: 5, cols: 2, elements: [2, 0, 0, 5, -6, -8, 1, 1, 2, 1])
        let sum = StreamlineScores.similaritySum(a, b)
        #expect(abs(sum - (1 + 0.5 + 0 + 0.5 + 0.9)) < 1e-15, "\(sum)")
    }

    /// Three blocks, runs of n = 2: scores of starts 0 and 1 over two windows are the token means,
    /// and the best start is the one whose states 2 blocks apart point the same way.
    @Test func scoresAreTokenMeansAndTheBestRunWins() {
        // window 1: h0…h3 with one token each; window 2: two tokens.
        let w1 = [[1, 0], [0, 1], [0, 1], [0, 1]].map { Matrix(rows: 1, cols: 2, elements: $0.map(Float.init)) }
        let w2 = [[1, 0, 1, 0], [0, 1, 1, 1], [-1, 0, 1, 0], [1, 1, 1, 1]].map { Matrix(rows: 2, cols: 2, elements: $0.map(Float.init)) }
        var scores = StreamlineScores(blocks: 3, span: 2)
        scores.add(window: w1)
        scores.add(window: w2)
        // start 0: cos(h0, h2) per token: w1 0 → 0.5; w2 (1,0)·(−1,0) = −1 → 0, (1,0)·(1,0) = 1 → 1.
        // start 1: cos(h1, h3): w1 1 → 1; w2 (0,1)·(1,1) → 0.5+0.5/√2, (1,1)·(1,1) → 1.
        let s = scores.scores!
        #expect(abs(s[0] - 1.5 / 3) < 1e-15)
        #expect(abs(s[1] - (2 + 0.5 + 0.5 / 2.0.squareRoot()) / 3) < 1e-15)
        #expect(scores.best == 1 && scores.tokens == 3)
        // Control: swapping the targets of start 1 to opposite directions moves the choice to 0.
        var flipped = StreamlineScores(blocks: 3, span: 2)
        flipped.add(window: [w1[0], w1[1], w1[2], Matrix(rows: 1, cols: 2, elements: [0, -1])])
        flipped.add(window: [w2[0], w2[1], w2[2], Matrix(rows: 2, cols: 2, elements: [-1, -1, -1, -1])])
        #expect(flipped.best == 0)
    }

    /// Terms computed separately (as on separate ranks, here in reverse order) and folded in
    /// window order give the same bits as one pass; ties go to the lowest start
    /// (torch.argmax's first maximum).
    @Test func foldedTermsEqualOnePassAndTiesGoLow() {
        var random = TestRandom(seed: 24)
        let windows = (0..<5).map { _ in (0..<6).map { _ in random.matrix(7, 16) } }
        var all = StreamlineScores(blocks: 5, span: 3)
        for w in windows { all.add(window: w) }
        let terms = windows.reversed().map { StreamlineScores.term(window: $0, span: 3) }.reversed()
        var chained = StreamlineScores(blocks: 5, span: 3)
        for t in terms { chained.add(term: t, tokens: 7) }
        #expect(chained == all)
        #expect(all.scores!.count == 3 && all.tokens == 35)
        // Control: a fold that skips a window differs.
        var missing = StreamlineScores(blocks: 5, span: 3)
        for t in terms.dropLast() { missing.add(term: t, tokens: 7) }
        #expect(missing.sums != all.sums)
        var tie = StreamlineScores(blocks: 2, span: 1)
        let x = Matrix(rows: 1, cols: 2, elements: [1, 0])
        tie.add(window: [x, x, x])
        #expect(tie.scores! == [1, 1] && tie.best == 0)
        #expect(StreamlineScores(blocks: 3, span: 1).best == nil)
    }

    /// The authors' schedule: rate 0 at the first step, linear warmup, half cosine to the floor;
    /// and, as they call it, the rate a run actually ends at.
    @Test func scheduleFollowsTheAuthorsLambda() {
        let s = StreamlineSchedule(warmupSteps: 2, totalSteps: 10)
        #expect(s.learningRate(step: 0) == 0)
        #expect(abs(s.learningRate(step: 1) - 1e-4) < 1e-18)
        #expect(abs(s.learningRate(step: 2) - 2e-4) < 1e-18)
        #expect(abs(s.learningRate(step: 6) - (5e-5 + 0.5 * 1.5e-4)) < 1e-15)  // halfway: cos(π/2) = 0
        #expect(abs(s.learningRate(step: 10) - 5e-5) < 1e-18)
        // 12 800 batches of 8, one epoch, accumulation 16: 800 optimizer steps; the last one runs
        // at scheduler step 799 of a declared 6 400, so the rate has barely left its maximum.
        let authors = StreamlineSchedule.authors(batches: 12_800, epochs: 1)
        #expect(authors.warmupSteps == 64 && authors.totalSteps == 6_400)
        let last = authors.learningRate(step: 799)
        #expect(last > 1.9e-4 && last < 2e-4, "\(last)")
    }
}
