import Foundation
import TestSupport
import Testing

/// Issue 5, "Scale": with the 1B shape (TinyLlama layout, bf16, seeded random weights) and 4
/// ranks in sequential mode, every rank's peak RSS stays below its own blocks' bytes × 1.3 plus
/// the activation buffers, as `MemoryBudget` states them in the report. Two windows of 64 tokens
/// keep the arithmetic to seconds; the weights (2.2 GB in, 2.2 GB out) are what is measured.
@Suite(.serialized) struct SequentialMemoryTests {
    @Test func oneBillionShapeStaysWithinEachRanksBudget() throws {
        let scratch = try scratchDirectory("memory-1b")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let model = scratch.appendingPathComponent("synth-1b"), out = scratch.appendingPathComponent("out")
        let tokenizer = try RepoPaths.require(RepoPaths.smolHF).path
        let synth = try MPIRun.run(["synth", "--shape", "llama-1b", "--dtype", "bf16", "--seed", "3",
                                    "--tokenizer", tokenizer, "--out", model.path], ranks: nil, timeout: 600)
        #expect(synth.status == 0, "synth failed: \(synth.stderr)")
        let calib = RepoPaths.wikitext.appendingPathComponent("wiki.valid.tokens").path
        let run = try MPIRun.run(["prune", "--model", model.path, "--out", out.path, "--sparsity", "0.5",
                                  "--method", "wanda", "--calib", calib, "--nsamples", "2", "--seqlen", "64",
                                  "--propagation", "sequential"], ranks: 4, timeout: 900)
        #expect(run.status == 0, "prune failed: \(run.stderr)")
        let data = try Data(contentsOf: out.appendingPathComponent("owlprune-report.json"))
        let report = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let perRank = report["per_rank"] as! [[String: Any]]
        #expect(perRank.count == 4)
        for rank in perRank {
            let peak = rank["peak_rss_bytes"] as! Int
            let budget = rank["memory_budget"] as! [String: Any]
            let bound = budget["bound_bytes"] as! Int, blocks = budget["block_bytes"] as! Int
            #expect(peak > 0 && peak <= bound, "rank \(rank["rank"]!): peak RSS \(peak) exceeds its budget \(bound)")
            // The bound is meaningful: the rank's blocks in float32 alone would not fit under it.
            #expect(2 * blocks > bound, "rank \(rank["rank"]!): budget \(bound) is not below its blocks in float32")
            #expect(budget["peak_within_bound"] as! Bool)
        }
    }

    /// Issue 29 item 4: the demo's method on SmolLM2 (OWL + Wanda 70%, blocks split) on 1, 2 and
    /// 4 ranks, with fewer windows: every rank's peak is within its bound, so no run warns. The
    /// small model is where the bound used to fail (the demo printed "peak 0.19 GB exceeded its
    /// estimated bound 0.17 GB"): what the process holds before the job starts is most of it.
    /// Control: without that measured baseline, rank 0's bound is below its peak.
    @Test func smolLM2DemoRunsStayWithinTheirBounds() throws {
        let scratch = try scratchDirectory("memory-demo")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let model = try RepoPaths.require(RepoPaths.smolHF).path
        let calib = RepoPaths.wikitext.appendingPathComponent("wiki.valid.tokens").path
        var baselineNeeded = false
        for ranks in [1, 2, 4] {
            let out = scratch.appendingPathComponent("out-\(ranks)")
            let run = try MPIRun.run(["prune", "--model", model, "--out", out.path, "--sparsity", "0.7", "--method", "wanda",
                                      "--allocation", "owl", "--calib", calib, "--nsamples", "4", "--seqlen", "128"],
                                     ranks: ranks, timeout: 600)
            #expect(run.status == 0 && !run.stderr.contains("exceeded its estimated bound"), "\(ranks) ranks: \(run.stderr)")
            let data = try Data(contentsOf: out.appendingPathComponent("owlprune-report.json"))
            let report = try JSONSerialization.jsonObject(with: data) as! [String: Any]
            for rank in report["per_rank"] as! [[String: Any]] {
                let peak = rank["peak_rss_bytes"] as! Int
                let budget = rank["memory_budget"] as! [String: Any]
                let bound = budget["bound_bytes"] as! Int, baseline = budget["baseline_bytes"] as! Int
                #expect(peak > 0 && peak <= bound && budget["peak_within_bound"] as! Bool,
                        "\(ranks) ranks, rank \(rank["rank"]!): peak \(peak) above bound \(bound)")
                if peak > bound - baseline { baselineNeeded = true }
            }
            try FileManager.default.removeItem(at: out)
        }
        #expect(baselineNeeded, "control: some rank's peak exceeds the bound without its measured baseline")
    }

    /// Issue 29 item 4: a rank that holds one block of a wide model. Its allowance of
    /// `blockBytes × 1.3` (the block in bf16) is far below what solving the block holds — the
    /// seven linears in float32, their pruned copies and masks — so the bound counts that working
    /// set instead (a llama-7b-shaped SparseGPT prune of 2 blocks warned "peak 4.9 GiB exceeded
    /// its estimated bound 4.6 GiB"). One llama-1b-shaped bf16 block, Wanda and SparseGPT at 2
    /// threads: every peak is within its bound and nothing warns. Control: the bound without the
    /// working set (`blockBytes × 1.3` in its place) is below each peak.
    @Test func oneWideBlockStaysWithinItsWorkingSetBound() throws {
        let scratch = try scratchDirectory("memory-wide-block")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let model = scratch.appendingPathComponent("synth-1b-1"), out = scratch.appendingPathComponent("out")
        let tokenizer = try RepoPaths.require(RepoPaths.smolHF).path
        let synth = try MPIRun.run(["synth", "--shape", "llama-1b", "--layers", "1", "--dtype", "bf16", "--seed", "3",
                                    "--tokenizer", tokenizer, "--out", model.path], ranks: nil, timeout: 600)
        #expect(synth.status == 0, "synth failed: \(synth.stderr)")
        let calib = RepoPaths.wikitext.appendingPathComponent("wiki.valid.tokens").path
        for method in ["wanda", "sparsegpt"] {
            let run = try MPIRun.run(["prune", "--model", model.path, "--out", out.path, "--force", "--sparsity", "0.5",
                                      "--method", method, "--calib", calib, "--nsamples", "2", "--seqlen", "64",
                                      "--threads", "2"], ranks: 1, timeout: 600)
            #expect(run.status == 0 && !run.stderr.contains("exceeded its estimated bound"), "\(method): \(run.stderr)")
            let data = try Data(contentsOf: out.appendingPathComponent("owlprune-report.json"))
            let report = try JSONSerialization.jsonObject(with: data) as! [String: Any]
            let rank = (report["per_rank"] as! [[String: Any]])[0]
            let peak = rank["peak_rss_bytes"] as! Int
            let budget = rank["memory_budget"] as! [String: Any]
            let bound = budget["bound_bytes"] as! Int, blocks = budget["block_bytes"] as! Int
            let working = budget["working_bytes"] as! Int, factor = budget["block_factor"] as! Double
            #expect(peak > 0 && peak <= bound && budget["peak_within_bound"] as! Bool, "\(method): peak \(peak) above bound \(bound)")
            let withoutWorkingSet = bound - working + Int((Double(blocks) * factor).rounded(.up))
            #expect(working > blocks * 2 && peak > withoutWorkingSet,
                    "control, \(method): peak \(peak) fits the bound without the working set, \(withoutWorkingSet)")
        }
    }
}
