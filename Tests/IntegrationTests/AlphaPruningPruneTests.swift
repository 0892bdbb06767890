import Foundation
import TestSupport
import Testing

/// `--allocation alpha` end to end on a tiny transformers-built model: the plan comes from the
/// weights' spectra alone (no statistics pass), is the same bits for 1 and 2 ranks in both
/// splits, and records its metrics and mapping range.
@Suite(.serialized) struct AlphaPruningPruneTests {
    @Test func alphaIsRankIndependent() throws {
        let model = try RepoPaths.require(RepoPaths.root.appendingPathComponent("Tests/Fixtures/transformers/qwen2"))
        let scratch = try scratchDirectory("alpha-ranks")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let calib = try ArchitecturePruneTests.calibration(in: scratch)
        var outs: [URL] = []
        for (ranks, split) in [(nil, "blocks"), (2, "blocks"), (2, "windows")] as [(Int?, String)] {
            let out = scratch.appendingPathComponent("r\(ranks ?? 1)-\(split)")
            let run = try MPIRun.run(["prune", "--model", model.path, "--out", out.path, "--sparsity", "0.6", "--method", "wanda",
                                      "--allocation", "alpha", "--alpha-epsilon", "0.2", "--split", split,
                                      "--calib-tokens", calib.path, "--nsamples", "4", "--seqlen", "32"],
                                     ranks: ranks, timeout: 300)
            #expect(run.status == 0, "\(run.stderr)")
            guard run.status == 0 else { return }
            outs.append(out)
        }
        let plans = try outs.map { try Data(contentsOf: $0.appendingPathComponent("owlprune-plan.json")) }
        for k in 1..<outs.count {
            #expect(try differingTensors(outs[0], outs[k]).isEmpty)
            #expect(plans[0] == plans[k])
        }
        let plan = try JSONSerialization.jsonObject(with: plans[0]) as? [String: Any]
        let sparsities = plan?["block_sparsities"] as? [Double] ?? []
        let metrics = plan?["alpha_metrics"] as? [Double] ?? []
        #expect(plan?["allocation"] as? String == "alpha" && plan?["alpha_epsilon"] as? Double == 0.2)
        #expect(plan?["alpha_fit"] as? String == "peak" && metrics.count == 4 && metrics.allSatisfy { $0 > 1 })
        #expect(Set(sparsities).count > 1 && abs(sparsities.reduce(0, +) / 4 - 0.6) < 1e-9)
        // The largest mean α gets the largest sparsity, 0.6·1.2·4/Σr.
        let top = metrics.indices.max { metrics[$0] < metrics[$1] }!
        #expect(sparsities[top] == sparsities.max())
    }
}
