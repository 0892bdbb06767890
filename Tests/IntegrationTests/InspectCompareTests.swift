import Foundation
import TestSupport
import Testing

/// Issue 13 item 4: `inspect` of a pruned directory sums zeros per block and per linear kind (in
/// block order) and shows the plan it carries; `compare A B --data` puts block sparsity,
/// parameter counts and perplexity side by side, the perplexity bit-identical to `owlprune eval`.
@Suite(.serialized) struct InspectCompareTests {
    @Test func inspectAndCompareAPrunedTinyModel() throws {
        let scratch = try scratchDirectory("inspect-compare")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let model = scratch.appendingPathComponent("tiny"), out = scratch.appendingPathComponent("pruned")
        try TinyCheckpoint.write(to: model, blocks: 3)
        let calib = RepoPaths.wikitext.appendingPathComponent("wiki.valid.tokens").path
        let prune = try MPIRun.run(["prune", "--model", model.path, "--out", out.path, "--sparsity", "0.5", "--method", "magnitude",
                                    "--allocation", "atp", "--atp-beta", "0.1", "--nsamples", "1", "--seqlen", "16", "--calib", calib],
                                   ranks: nil, timeout: 120)
        #expect(prune.status == 0, "\(prune.stderr)")

        let inspect = try MPIRun.run(["inspect", out.path, "--json"], ranks: nil, timeout: 60)
        #expect(inspect.status == 0, "\(inspect.stderr)")
        let doc = try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as! [String: Any]
        let summary = doc["summary"] as! [String: Any]
        let blocks = summary["blocks"] as! [[String: Any]]
        #expect(blocks.map { $0["block"] as! Int } == [0, 1, 2])
        // Zeros read back from the shards are the counts the pruning report recorded, block by block
        // (random weights have no zeros of their own).
        let perBlock = blocks.map { $0["sparsity"] as! Double }
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("owlprune-report.json"))) as! [String: Any]
        var counts: [(pruned: Int, total: Int)] = Array(repeating: (0, 0), count: 3)
        for linear in report["linears"] as! [[String: Any]] {
            let b = Int((linear["name"] as! String).split(separator: ".")[2])!
            counts[b].pruned += linear["pruned"] as! Int
            counts[b].total += linear["total"] as! Int
        }
        let read = blocks.map { ($0["zeros"] as! Int, $0["elements"] as! Int) }
        #expect(read.map(\.0) == counts.map(\.pruned) && read.map(\.1) == counts.map(\.total), "inspect \(read) vs report \(counts)")
        #expect(zip(perBlock, counts).allSatisfy { abs($0 - Double($1.pruned) / Double($1.total)) < 1e-12 }, "\(perBlock)")
        #expect(perBlock[0] < perBlock[1] && perBlock[1] < perBlock[2], "ATP rises with depth: \(perBlock)")
        let kinds = summary["kinds"] as! [String: Double]
        #expect(Set(kinds.keys) == ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                                    "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"])
        let plan = doc["plan"] as! [String: Any]
        #expect(plan["allocation"] as? String == "atp")

        let text = try MPIRun.run(["inspect", out.path], ranks: nil, timeout: 60)
        #expect(text.stdout.contains("plan (owlprune-plan.json):") && text.stdout.contains("per kind: q_proj"), "\(text.stdout)")

        let data = RepoPaths.wikitext.appendingPathComponent("wiki.valid.tokens").path
        let compare = try MPIRun.run(["compare", model.path, out.path, "--data", data, "--seqlen", "32", "--max-windows", "2", "--json"],
                                     ranks: 2, timeout: 120)
        #expect(compare.status == 0, "\(compare.stderr)")
        let sides = (try JSONSerialization.jsonObject(with: Data((compare.stdout.split(separator: "\n").last ?? "").utf8)) as! [String: Any])["models"] as! [[String: Any]]
        let sa = sides[0]["summary"] as! [String: Any], sb = sides[1]["summary"] as! [String: Any]
        #expect(sa["overall"] as? Double == 0 && sb["parameters"] as? Int == sa["parameters"] as? Int)
        #expect((sb["nonzero_parameters"] as! Int) < (sa["nonzero_parameters"] as! Int))
        let eval = try MPIRun.run(["eval", "--model", out.path, "--data", data, "--seqlen", "32", "--max-windows", "2", "--json"],
                                  ranks: nil, timeout: 120)
        let direct = try JSONSerialization.jsonObject(with: Data((eval.stdout.split(separator: "\n").last ?? "").utf8)) as! [String: Any]
        let viaCompare = (sides[1]["perplexity"] as! [String: Any])["nll_sum"] as! Double
        #expect(viaCompare.bitPattern == (direct["nll_sum"] as! Double).bitPattern, "compare \(viaCompare) vs eval \(direct["nll_sum"]!)")
    }

    /// Issue 26 item 5: a tensor name is printed escaped and cut in `inspect`'s listing, so a name
    /// holding a newline cannot forge an `owlprune:` line and a megabyte name is not a screenful.
    /// Control: the same file lists the plain name unchanged.
    @Test func inspectListingEscapesAndCutsNames() throws {
        let scratch = try scratchDirectory("inspect-names")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let long = String(repeating: "w", count: 5000)
        let header = #"{"plain":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"x\nowlprune: rank 0: forged\u001b[2J":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"\#(long)":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
        _ = try BadInputFixtures.safetensors(scratch, header: header, dataBytes: 12)
        let run = try MPIRun.run(["inspect", scratch.appendingPathComponent("tiny").path], ranks: nil, timeout: 60)
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(!lines.contains { $0.hasPrefix("owlprune:") }, "\(run.stdout)")
        #expect(lines.contains { $0.hasPrefix(#"x\nowlprune: rank 0: forged\u{1B}[2J"#) }, "\(run.stdout)")
        #expect(lines.contains { $0.hasPrefix("plain ") }, "control: the plain name as it is")
        #expect(lines.contains { $0.contains("…(4800 more characters)") } && lines.allSatisfy { $0.count < 400 }, "\(lines.map(\.count))")
    }
}
