import Foundation
import Testing
import TestSupport
@testable import Pruning

@Suite struct AllocationTests {
    @Test func owlWorkedExample() throws {
        // §7.5: D = [2, 5, 3, 6], s = 0.7, λ = 0.08 → [0.78, 0.66, 0.74, 0.62].
        let s = try owlSparsities(outlierRatios: [2, 5, 3, 6], target: 0.7, lambda: 0.08)
        for (got, want) in zip(s, [0.78, 0.66, 0.74, 0.62]) { #expect(abs(got - want) <= 1e-12) }
        #expect(s.map { prunedCount(of: 4096, sparsity: $0) } == [3194, 2703, 3031, 2539])
    }

    @Test func owlMatchesReferencePlanForSmolLM2() throws {
        let url = try RepoPaths.require(RepoPaths.smolFixtures.appendingPathComponent("reference.json"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let plan = (json["plans"] as! [String: Any])["owl-wanda-0.7"] as! [String: Any]
        let ratios = plan["outlier_ratios"] as! [Double]
        let expected = plan["block_sparsities"] as! [Double]
        #expect(ratios.count == 30)
        let got = try owlSparsities(outlierRatios: ratios, target: 0.7, lambda: 0.08)
        #expect(got.count == expected.count)
        for (a, b) in zip(got, expected) { #expect(abs(a - b) <= 1e-9) }
    }

    @Test func owlClampDegenerateAndTooLargeLambda() throws {
        // s = 0.05: s_l = 0.13 − r_l with r = [0, .12, .04, .16] → block 3 would be −0.03 → 0.01.
        // The reference would raise it to 0.01, making the mean 0.06 instead of 0.05: refused
        // (issue 10 item 6), naming the block and the largest λ that keeps every s_l > 0
        // (s_3 = 0.05 − λ, so λ < 0.05, reported as 0.049).
        #expect {
            _ = try owlSparsities(outlierRatios: [2, 5, 3, 6], target: 0.05, lambda: 0.08)
        } throws: { error in
            guard case let .owlMeanDeparts(_, _, mean, block, valid) = error as? PruningError else { return false }
            return block == 3 && abs(mean - 0.06) < 1e-12 && valid == 0.049
        }
        // λ = 0.049: s_3 = 0.001 > 0, so the realized mean is the target.
        let kept = try owlSparsities(outlierRatios: [2, 5, 3, 6], target: 0.05, lambda: 0.049)
        #expect(abs(kept.reduce(0, +) / 4 - 0.05) < 1e-12 && kept.allSatisfy { $0 > 0 })
        #expect(try owlSparsities(outlierRatios: [4, 4, 4], target: 0.7, lambda: 0.08) == [0.7, 0.7, 0.7])
        // λ = 0.35: block 0 reaches 0.7 + 2·0.35·mean(n) = 0.7 + 0.35 = 1.05; λ must stay below 0.3.
        do {
            _ = try owlSparsities(outlierRatios: [2, 5, 3, 6], target: 0.7, lambda: 0.35)
            Issue.record("expected an error")
        } catch let PruningError.owlLambdaTooLarge(lambda, block, sparsity, valid) {
            #expect(lambda == 0.35 && block == 0 && abs(sparsity - 1.05) < 1e-12 && valid == 0.29)
            #expect(PruningError.owlLambdaTooLarge(lambda: lambda, block: block, sparsity: sparsity, largestValid: valid)
                .localizedDescription == "--owl-lambda 0.35 pushes block 0 to sparsity 1.05; the largest valid value is 0.29")
        }
        #expect(try owlSparsities(outlierRatios: [2, 5, 3, 6], target: 0.7, lambda: 0.29).allSatisfy { $0 < 1 })
    }

    @Test func atpWorkedExampleAndBounds() throws {
        // §8.4: B = 4, s = 0.7, β = 0.05 → [0.625, 0.675, 0.725, 0.775]; β_max = 0.2.
        let s = try atpSparsities(blocks: 4, target: 0.7, beta: 0.05)
        for (got, want) in zip(s, [0.625, 0.675, 0.725, 0.775]) { #expect(abs(got - want) <= 1e-12) }
        #expect(abs(s.reduce(0, +) / 4 - 0.7) <= 1e-12)
        #expect(throws: PruningError.self) { try atpSparsities(blocks: 4, target: 0.7, beta: 0.25) }
        // β = β_max drives block 3 to exactly 1: rejected, as OWL rejects s_l ≥ 1.
        #expect(throws: PruningError.self) { try atpSparsities(blocks: 4, target: 0.7, beta: 0.2) }
        #expect(throws: PruningError.self) { try atpSparsities(blocks: 4, target: 0.7, beta: -0.01) }
        #expect(throws: PruningError.self) { try atpSparsities(blocks: 1, target: 0.7, beta: 0.01) }
        // Below 0.5 the bound is 2s/(B−1).
        #expect(try atpSparsities(blocks: 4, target: 0.3, beta: 0.19)[0] >= 0)
        // β = 0.2 equals β_max = min(0.6, 1.4)/3 in reals, but 0.6/3 rounds below 0.2: rejected, as by the reference.
        #expect(throws: PruningError.self) { try atpSparsities(blocks: 4, target: 0.3, beta: 0.2) }
        // LLaMA-7B shape (§8.4): β_max = 0.6/31 ≈ 0.019355 → reported as 0.019.
        do {
            _ = try atpSparsities(blocks: 32, target: 0.7, beta: 0.02)
            Issue.record("expected an error")
        } catch let PruningError.atpBetaInvalid(_, block, _, valid) {
            #expect(block == 31 && valid == 0.019)
        }
        do {
            _ = try atpSparsities(blocks: 4, target: 0.7, beta: 0.25)
            Issue.record("expected an error")
        } catch let PruningError.atpBetaInvalid(_, block, sparsity, valid) {
            #expect(block == 3 && sparsity > 1 && valid == 0.19)
        }
    }
}
