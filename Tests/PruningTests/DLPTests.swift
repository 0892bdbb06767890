import Foundation
import Tensor
import Testing
@testable import Pruning

/// DLP against hand-computed cases (ironartisan/DLP `get_dlp_ratios`).
@Suite struct DLPTests {
    /// scores [1, 2, 3, 4] → I = 1 − score/10 = [.9, .8, .7, .6]; r = (I − .6)·(1/.3·2α) with
    /// α = 0.15 → [.3, .2, .1, 0]; mean .15; keep = r − .15 + .3 at s = 0.7; sparsity
    /// = [.55, .65, .75, .85]: the block with the smallest mean metric keeps the most.
    @Test func workedExample() throws {
        let s = try DLP.sparsities(scores: [1, 2, 3, 4], target: 0.7, alpha: 0.15)
        for (got, want) in zip(s, [0.55, 0.65, 0.75, 0.85]) { #expect(abs(got - want) <= 1e-12) }
        #expect(abs(s.reduce(0, +) / 4 - 0.7) <= 1e-12)
    }

    @Test func degenerateAndInvalid() throws {
        #expect(try DLP.sparsities(scores: [2, 2, 2], target: 0.6, alpha: 0.15) == [0.6, 0.6, 0.6])
        // α = 0.5 at s = 0.7 pushes the last block to 0.7 + 0.5 = 1.2.
        #expect(throws: PruningError.self) { try DLP.sparsities(scores: [1, 2, 3, 4], target: 0.7, alpha: 0.5) }
        #expect(throws: PruningError.self) { try DLP.sparsities(scores: [1, .nan], target: 0.7, alpha: 0.15) }
    }

    /// The score is |mean| of the pooled Wanda metric, weighted by element count.
    @Test func blockScorePoolsAllLinears() {
        let a = Matrix([[1, -2]]), b = Matrix([[3], [4]])
        // Wanda metric with S = [4, 16] → sqrt [2, 4]: a → [2, 8]; b with S = [1] → [3, 4]. Mean of [2, 8, 3, 4] = 4.25.
        #expect(DLP.blockScore(linears: [(a, [4, 16]), (b, [1])]) == 4.25)
    }

    @Test func planRecordsScoresAndAlpha() throws {
        let plan = try SparsityPlan.make(method: .wanda, pattern: .unstructured, target: 0.7, allocation: .dlp(alpha: 0.15),
                                         blocks: 4, outlierRatios: [1, 2, 3, 4])
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(plan)) as? [String: Any]
        #expect(json?["allocation"] as? String == "dlp" && json?["dlp_alpha"] as? Double == 0.15)
        #expect(json?["dlp_scores"] as? [Double] == [1, 2, 3, 4] && json?["outlier_ratios"] == nil)
        #expect(try JSONDecoder().decode(SparsityPlan.self, from: JSONEncoder().encode(plan)) == plan)
    }
}
