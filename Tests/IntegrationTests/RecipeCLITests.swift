import Foundation
import TestSupport
import Testing

/// Issue 13 items 1, 2, 4, 6, 8 on the tiny checkpoint: recipes (flags inside, overrides reaching
/// the masks, flags winning, the effective recipe reproducing the output byte for byte), the
/// shipped examples parsing, plan/dry-run estimates, `--json`, `--version`, the reference scripts'
/// aliases, and `prune --eval` agreeing with `owlprune eval` bit for bit.
@Suite(.serialized) struct RecipeCLITests {
    typealias F = BadInputFixtures

    static func stdoutJSON(_ run: MPIRun.Outcome) throws -> [String: Any] {
        let line = run.stdout.split(separator: "\n").last.map(String.init) ?? ""
        return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "stdout: \(run.stdout)")
    }

    static func report(_ out: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("owlprune-report.json"))) as! [String: Any]
    }

    static func linears(_ out: URL) throws -> [String: (planned: Double, pruned: Int, total: Int)] {
        let list = try report(out)["linears"] as! [[String: Any]]
        return Dictionary(uniqueKeysWithValues: list.map {
            ($0["name"] as! String, ($0["planned_sparsity"] as! Double, $0["pruned"] as! Int, $0["total"] as! Int))
        })
    }

    /// Overrides and ignore reach the masks; the written recipe run again gives the same files
    /// byte for byte, the recipe itself included (the shard names depend on the rank count, the
    /// tensors do not: PruneIdentityTests).
    @Test func recipeOverridesAndReproduction() throws {
        let dir = try scratchDirectory("recipe")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("tiny")
        try TinyCheckpoint.write(to: model, blocks: 3)
        let text = dir.appendingPathComponent("text.txt")
        try F.calibrationText.write(to: text, atomically: true, encoding: .utf8)
        let recipe = dir.appendingPathComponent("r.yaml")
        try """
        # a comment
        model: \(model.path)
        calib: \(text.path)
        nsamples: 4
        seqlen: 16
        method: wanda
        sparsity: 0.5
        overrides:
          - blocks: [-1]
            sparsity: 0.25
          - blocks: [0]
            linears: 'mlp\\.down_proj$'
            sparsity: 0.75
        ignore:
          - 'self_attn\\.k_proj'
        """.write(to: recipe, atomically: true, encoding: .utf8)
        let first = dir.appendingPathComponent("first")
        let run = try MPIRun.run(["prune", "--recipe", recipe.path, "-o", first.path], ranks: 1, timeout: 120)
        #expect(run.status == 0, "\(run.stderr)")
        let l = try Self.linears(first)
        for b in 0..<3 {
            #expect(l["model.layers.\(b).self_attn.k_proj.weight"]!.pruned == 0)
        }
        let down0 = l["model.layers.0.mlp.down_proj.weight"]!
        #expect(down0.planned == 0.75 && down0.pruned == 32 * 48)  // rows · floor(64 · 0.75), Wanda per row
        let q2 = l["model.layers.2.self_attn.q_proj.weight"]!
        #expect(q2.planned == 0.25 && q2.pruned == 32 * 8)
        let q1 = l["model.layers.1.self_attn.q_proj.weight"]!
        #expect(q1.planned == 0.5 && q1.pruned == 32 * 16)
        // The plan was on screen before phase 2, with the warning that the mean moved.
        let stderr = run.stderr
        let table = try #require(stderr.range(of: "mean sparsity"))
        let firstBlock = try #require(stderr.range(of: "prune: block"))
        #expect(table.lowerBound < firstBlock.lowerBound)
        #expect(stderr.contains("warning: recipe overrides/ignore change the mean linear sparsity"))

        let written = first.appendingPathComponent("owlprune-recipe.yaml")
        let second = dir.appendingPathComponent("second")
        let again = try MPIRun.run(["prune", "--recipe", written.path, "--out", second.path], ranks: 1, timeout: 120)
        #expect(again.status == 0, "\(again.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: first.path).sorted()
        #expect(files == (try FileManager.default.contentsOfDirectory(atPath: second.path).sorted()))
        #expect(files.contains("owlprune-recipe.yaml"))
        for name in files where name != "owlprune-report.json" {
            let a = try Data(contentsOf: first.appendingPathComponent(name)), b = try Data(contentsOf: second.appendingPathComponent(name))
            #expect(a == b, "\(name) differs between the run and its recipe's rerun")
        }
    }

    /// A `--remove-by shortgpt --remove-blocks 1` prune's effective recipe holds the removal, so
    /// its rerun removes the same block and gives the same bytes. Control: the recipe without the
    /// removal keys prunes all three blocks, a different model.
    @Test func depthRemovalIsInTheEffectiveRecipe() throws {
        let dir = try scratchDirectory("recipe-depth")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (model, text) = try F.tiny(in: dir, blocks: 3)
        let first = dir.appendingPathComponent("first"), second = dir.appendingPathComponent("second")
        let run = try MPIRun.run(F.prune(model, text, out: first, ["--method", "wanda", "--remove-by", "shortgpt", "--remove-blocks", "1"]),
                                 ranks: nil, timeout: 120)
        #expect(run.status == 0, "\(run.stderr)")
        let written = first.appendingPathComponent("owlprune-recipe.yaml")
        let yaml = try String(contentsOf: written, encoding: .utf8)
        #expect(yaml.contains("remove-blocks: 1\n") && yaml.contains("remove-by: shortgpt\n"), "\(yaml)")
        let again = try MPIRun.run(["prune", "--recipe", written.path, "--out", second.path], ranks: nil, timeout: 120)
        #expect(again.status == 0, "\(again.stderr)")
        for name in ["model.safetensors", "config.json", "owlprune-plan.json", "owlprune-recipe.yaml"] {
            let a = try Data(contentsOf: first.appendingPathComponent(name)), b = try? Data(contentsOf: second.appendingPathComponent(name))
            #expect(a == b, "\(name) differs between the run and its recipe's rerun")
        }
        let stripped = dir.appendingPathComponent("stripped.yaml"), third = dir.appendingPathComponent("third")
        try yaml.split(separator: "\n").filter { !$0.hasPrefix("remove-") }.joined(separator: "\n")
            .write(to: stripped, atomically: true, encoding: .utf8)
        let control = try MPIRun.run(["prune", "--recipe", stripped.path, "--out", third.path], ranks: nil, timeout: 120)
        #expect(control.status == 0, "\(control.stderr)")
        #expect(try Data(contentsOf: third.appendingPathComponent("config.json")) != Data(contentsOf: first.appendingPathComponent("config.json")),
                "control: without the removal keys the rerun keeps every block")
    }

    /// Under 2:4 the shipped recipe keeps the first (ignore) and last (override to 0) blocks dense
    /// and prunes exactly half of every other linear.
    @Test func nOfMRecipeKeepsChosenBlocksDense() throws {
        let dir = try scratchDirectory("recipe-2of4")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("tiny")
        try TinyCheckpoint.write(to: model, blocks: 3)
        let text = dir.appendingPathComponent("text.txt")
        try F.calibrationText.write(to: text, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("out")
        let recipe = RepoPaths.root.appendingPathComponent("recipes/sparsegpt-2of4.yaml")
        let run = try MPIRun.run(["prune", "--recipe", recipe.path, "-m", model.path, "-o", out.path, "--calib", text.path,
                                  "--nsamples", "4", "--seqlen", "16"], ranks: 2, timeout: 120)
        #expect(run.status == 0, "\(run.stderr)")
        for (name, l) in try Self.linears(out) {
            let dense = name.hasPrefix("model.layers.0.") || name.hasPrefix("model.layers.2.")
            #expect(l.pruned == (dense ? 0 : l.total / 2), "\(name)")
        }
    }

    /// A flag typed after `--recipe` overrides the recipe's value.
    @Test func flagsOverrideTheRecipe() throws {
        let dir = try scratchDirectory("recipe-flags")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (model, text) = try F.tiny(in: dir)
        let recipe = dir.appendingPathComponent("r.yaml")
        try "sparsity: 0.7\nmethod: magnitude\nallocation: atp\natp-beta: 0.1\n".write(to: recipe, atomically: true, encoding: .utf8)
        let run = try MPIRun.run(["plan", "--recipe", recipe.path, "-m", model.path, "--calib", text.path, "--nsamples", "2",
                                  "--seqlen", "16", "--sparsity", "0.4", "--json"], ranks: nil, timeout: 60)
        #expect(run.status == 0, "\(run.stderr)")
        let plan = try #require(try Self.stdoutJSON(run)["plan"] as? [String: Any])
        #expect(plan["target_sparsity"] as? Double == 0.4)
        #expect(plan["method"] as? String == "magnitude")
        #expect(plan["allocation"] as? String == "atp" && plan["atp_beta"] as? Double == 0.1)
    }

    /// Every shipped example parses and plans (model and calibration given on the command line).
    @Test(arguments: ["wanda-owl-70", "sparsegpt-2of4", "wanda-atp-70", "wanda-dsnot-60"])
    func shippedRecipesParse(_ name: String) throws {
        let dir = try scratchDirectory("recipe-\(name)")
        defer { try? FileManager.default.removeItem(at: dir) }
        // Three blocks: sparsegpt-2of4 keeps the first and the last dense, and on two blocks
        // that leaves nothing to prune, which is refused.
        let (model, text) = try F.tiny(in: dir, blocks: 3)
        let file = RepoPaths.root.appendingPathComponent("recipes/\(name).yaml")
        let run = try MPIRun.run(["plan", "--recipe", file.path, "-m", model.path, "--calib", text.path, "--nsamples", "2",
                                  "--seqlen", "16", "--json"], ranks: nil, timeout: 60)
        #expect(run.status == 0, "\(name): \(run.stderr)")
        let plan = try #require(try Self.stdoutJSON(run)["plan"] as? [String: Any])
        #expect((plan["block_sparsities"] as? [Double])?.count == 3)
    }

    /// `prune --dry-run`: plan and an estimate for each rank, nothing written; `--json` is one object.
    @Test func dryRunEstimatesPerRank() throws {
        let dir = try scratchDirectory("dry-run")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (model, text) = try F.tiny(in: dir)
        let out = dir.appendingPathComponent("out")
        let run = try MPIRun.run(F.prune(model, text, out: out, ["--dry-run", "--json", "--method", "sparsegpt"]), ranks: 2, timeout: 60)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
        let estimate = try #require(try Self.stdoutJSON(run)["estimate"] as? [String: Any])
        let ranks = try #require(estimate["per_rank"] as? [[String: Any]])
        #expect(ranks.count == 2)
        for r in ranks {
            #expect((r["memory_bound_bytes"] as? Int ?? 0) > 0)
            #expect((r["seconds"] as? Double ?? 0) > 0)
        }
        #expect(run.stderr.contains("mean sparsity"))
    }

    /// `prune --eval`: the pruned perplexity is exactly `owlprune eval` of the output; the dense one
    /// exactly `eval` of the input; `--json` carries both.
    @Test func evalAfterPruneMatchesEval() throws {
        let dir = try scratchDirectory("prune-eval")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (model, text) = try F.tiny(in: dir)
        let out = dir.appendingPathComponent("out")
        let run = try MPIRun.run(F.prune(model, text, out: out, ["--eval", text.path, "--eval-seqlen", "16", "--eval-windows", "3", "--json"]),
                                 ranks: 2, timeout: 120)
        #expect(run.status == 0, "\(run.stderr)")
        let summary = try Self.stdoutJSON(run)
        let evaluation = try #require(summary["eval"] as? [String: Any])
        #expect((summary["output_bytes"] as? Int ?? 0) > 0)
        for (key, dirURL) in [("pruned", out), ("dense", model)] {
            let e = try MPIRun.run(["eval", "-m", dirURL.path, "--data", text.path, "--seqlen", "16", "--max-windows", "3", "--json"],
                                   ranks: 1, timeout: 60)
            #expect(e.status == 0, "\(e.stderr)")
            let alone = try Self.stdoutJSON(e)
            #expect(alone["model"] as? String == dirURL.path && alone["data"] as? String == text.path)
            let inPrune = try #require(evaluation[key] as? [String: Any])
            #expect(inPrune["nll_sum"] as? Double == alone["nll_sum"] as? Double, "\(key)")
        }
        let dense = (evaluation["dense"] as! [String: Any])["perplexity"] as! Double
        let pruned = (evaluation["pruned"] as! [String: Any])["perplexity"] as! Double
        #expect(dense != pruned)
    }

    /// The reference scripts' names work and say owlprune's; `--version` names a commit.
    @Test func aliasesAndVersion() throws {
        let dir = try scratchDirectory("aliases")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (model, text) = try F.tiny(in: dir)
        let run = try MPIRun.run(["plan", "--model", model.path, "--calib", text.path, "--nsamples", "2", "--seqlen", "16",
                                  "--sparsity_ratio", "0.6", "--prune_method", "wanda_owl", "--Hyper_m", "3", "--Lamda", "0.05", "--json"],
                                 ranks: nil, timeout: 60)
        #expect(run.status == 0, "\(run.stderr)")
        let plan = try #require(try Self.stdoutJSON(run)["plan"] as? [String: Any])
        #expect(plan["target_sparsity"] as? Double == 0.6 && plan["allocation"] as? String == "owl")
        #expect(plan["owl_m"] as? Double == 3 && plan["owl_lambda"] as? Double == 0.05)
        #expect(run.stderr.contains("note: --sparsity_ratio is owlprune's --sparsity"))
        #expect(run.stderr.contains("note: --prune_method wanda_owl is owlprune's --method wanda --allocation owl"))

        let version = try MPIRun.run(["--version"], ranks: nil, timeout: 30)
        #expect(version.status == 0)
        // The first line; the second names the BLAS kernels (BLASKernelIdentityTests).
        let line = version.stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(line.wholeMatch(of: /owlprune \d+\.\d+\.\d+ \(commit ([0-9a-f]{12}|unknown)\)/) != nil, "\(line)")
    }
}
