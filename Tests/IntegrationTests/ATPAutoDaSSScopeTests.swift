import Foundation
import TestSupport
import Testing

/// Issue 12 items 5 and 7 end to end on the tiny checkpoint: `--atp-beta auto` gives the same
/// grid, choice, plan and weights on 1 and 2 ranks (the grid points run on 2 groups of 1 rank
/// there), picks the grid's lowest held-out NLL and prunes with it; DaSS's default scope leaves
/// every attention tensor byte for byte as it was and records the scope in the plan.
@Suite(.serialized) struct ATPAutoDaSSScopeTests {
    let scratch: URL
    let model: URL
    let text: URL

    init() throws {
        scratch = try scratchDirectory("atp-auto")
        (model, text) = try BadInputFixtures.tiny(in: scratch)
    }

    func prune(_ name: String, ranks: Int?, _ extra: [String]) throws -> URL? {
        let out = scratch.appendingPathComponent(name)
        let run = try MPIRun.run(BadInputFixtures.prune(model, text, out: out, extra), ranks: ranks, timeout: 180)
        #expect(run.status == 0, "\(extra): \(run.stderr)")
        return run.status == 0 ? out : nil
    }

    func plan(_ dir: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("owlprune-plan.json"))) as! [String: Any]
    }

    @Test func atpAutoIsRankIndependentAndPicksTheLowestHeldOutNLL() throws {
        defer { try? FileManager.default.removeItem(at: scratch) }
        let flags = ["--method", "wanda", "--sparsity", "0.6", "--allocation", "atp", "--atp-beta", "auto",
                     "--atp-grid-points", "3", "--atp-heldout-windows", "2"]
        guard let one = try prune("one", ranks: nil, flags), let two = try prune("two", ranks: 2, flags) else { return }
        #expect(try differingTensors(one, two).isEmpty)
        let planBytes = { (d: URL) in try Data(contentsOf: d.appendingPathComponent("owlprune-plan.json")) }
        #expect(try planBytes(one) == planBytes(two))
        #expect(!FileManager.default.fileExists(atPath: one.path + ".atp-beta-search"))

        let p = try plan(one)
        let grid = (p["settings"] as! [String: Any])["atp_beta_grid"] as! [String: Any]
        let points = grid["points"] as! [[String: Double]]
        // Two blocks at s = 0.6: β_max = 0.8 gives block 1 sparsity 1, so the grid is k·0.8/4.
        // (Compared to 1e-15: Foundation's JSON parser may round the last bit of a printed double.)
        let expected = [1, 2, 3].map { Double($0) * 0.8 / 4 }
        #expect(zip(points.map { $0["beta"]! }, expected).allSatisfy { abs($0 - $1) < 1e-15 } && points.count == 3)
        #expect(grid["heldout_tokens"] as? Int == 32 && grid["heldout_windows"] as? Int == 2)
        let best = points.min { $0["nll_sum"]! != $1["nll_sum"]! ? $0["nll_sum"]! < $1["nll_sum"]! : $0["beta"]! < $1["beta"]! }!
        #expect(grid["chosen"] as? Double == best["beta"] && p["atp_beta"] as? Double == best["beta"])
        let beta = best["beta"]!
        let blocks = p["block_sparsities"] as! [Double]
        #expect(abs(blocks[0] - (0.6 - beta / 2)) < 1e-12 && abs(blocks[1] - (0.6 + beta / 2)) < 1e-12)
        // The points differ, so the choice is a real one.
        #expect(Set(points.map { $0["nll_sum"]! }).count == 3)
    }

    @Test func dassDefaultLeavesAttentionDense() throws {
        defer { try? FileManager.default.removeItem(at: scratch) }
        guard let mlp = try prune("dass", ranks: nil, ["--method", "wanda", "--dass"]),
              let all = try prune("dass-all", ranks: nil, ["--method", "wanda", "--dass", "--dass-scope", "all"]) else { return }
        let changed = try differingTensors(model, mlp)
        #expect(!changed.isEmpty && changed.allSatisfy { $0.contains(".mlp.") }, "\(changed)")
        #expect(try differingTensors(model, all).contains { $0.contains(".self_attn.") })
        // Block 0's MLP sees the same dense inputs either way; later blocks see different pruned inputs.
        #expect(try differingTensors(mlp, all).filter { $0.contains("layers.0.") }.allSatisfy { $0.contains(".self_attn.") })
        let settings = try plan(mlp)["settings"] as! [String: Any]
        #expect((settings["dass"] as! [String: Any])["scope"] as? String == "mlp")
        let linears = try plan(mlp)["linear_sparsities"] as! [[String: Double]]
        #expect(linears.allSatisfy { $0["self_attn.q_proj"] == 0 && $0["mlp.up_proj"] == 0.5 })
    }
}
