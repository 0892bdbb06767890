import Foundation
import TestSupport
import Testing

/// Issue 24 item 5: `--remove-by streamline --replacement linear|layer` beside an unstructured
/// `--method`, on the 6-block tiny model. The property: the combined run writes the tensors of
/// the two-step one — `--method streamline --replacement X`, then the same pruning of that
/// output — byte for byte, on 1 and 2 ranks (docs/algorithms.md "LLM-Streamline: with --remove-by").
@Suite(.serialized) struct StreamlineRemoveByTests {
    let depth = DepthPruneTests()
    let layer = StreamlineLayerTests()
    static let k = 2
    static let wanda = ["--method", "wanda", "--sparsity", "0.5"]

    func removeBy(_ replacement: String) -> [String] {
        Self.wanda + ["--remove-by", "streamline", "--remove-blocks", String(Self.k), "--replacement", replacement]
    }

    /// `linear` on the float32 model and on its bfloat16 copy (where the folded down_proj is
    /// rounded to bf16 by the standalone output before the second prune reads it): combined =
    /// two-step, 1 = 2 ranks. Control: the combined `none` run differs from `linear` in block b's
    /// down_proj and not in block b's six other linears nor in any block before b (the
    /// comparison that finds the property does see a changed tensor).
    @Test func linearThenWandaEqualsPruningTheStreamlineOutput() throws {
        let f = try depth.fixture("removeby-linear")
        defer { try? FileManager.default.removeItem(at: f.scratch) }
        let bf16 = f.scratch.appendingPathComponent("tiny-bf16")
        // A bfloat16 copy of the model: magnitude at sparsity 0 changes nothing but the dtype.
        let convert = try depth.prune(f, out: bf16, ranks: nil, ["--method", "magnitude", "--sparsity", "0", "--dtype", "bf16"])
        #expect(convert.status == 0, "\(convert.stderr)")
        #expect(try tensorBytes(of: bf16).values.allSatisfy { $0.dtype == "BF16" }, "the copy is not bfloat16")
        for model in [f.model, bf16] {
            let label = model.lastPathComponent
            let only = f.scratch.appendingPathComponent("\(label)-only"), twoStep = f.scratch.appendingPathComponent("\(label)-twostep")
            #expect(try depth.prune(f, model: model, out: only, ranks: nil,
                                    ["--method", "streamline", "--remove-blocks", String(Self.k), "--replacement", "linear"]).status == 0)
            let s = try depth.prune(f, model: only, out: twoStep, ranks: nil, Self.wanda)
            #expect(s.status == 0, "\(s.stderr)")
            let one = f.scratch.appendingPathComponent("\(label)-one"), two = f.scratch.appendingPathComponent("\(label)-two")
            let a = try depth.prune(f, model: model, out: one, ranks: nil, removeBy("linear"))
            #expect(a.status == 0, "\(a.stderr)")
            #expect(a.stderr.contains("with ReplaceMe's map in its down_proj"), "\(a.stderr)")
            let b = try depth.prune(f, model: model, out: two, ranks: 2, removeBy("linear"))
            #expect(b.status == 0, "\(b.stderr)")
            #expect(try differingTensors(one, twoStep).isEmpty, "\(label): combined run differs from the two-step one")
            #expect(try differingTensors(one, two).isEmpty, "\(label): tensors differ between 1 and 2 ranks")
            #expect(try Data(contentsOf: one.appendingPathComponent("owlprune-plan.json"))
                    == Data(contentsOf: two.appendingPathComponent("owlprune-plan.json")))
            let removal = try depth.removal(only)
            let plan = try depth.json(one.appendingPathComponent("owlprune-plan.json"))
            let combinedRemoval = try #require(plan["block_removal"] as? [String: Any])
            #expect(combinedRemoval["run"] as? [Int] == removal["run"] as? [Int] && combinedRemoval["replacement"] as? String == "linear")
            #expect(FileManager.default.fileExists(atPath: one.appendingPathComponent("owlprune-streamline.svg").path))
            let recipe = try String(contentsOf: one.appendingPathComponent("owlprune-recipe.yaml"), encoding: .utf8)
            #expect(recipe.contains("remove-by: streamline") && recipe.contains("replacement: linear"), "\(recipe)")
            if model == f.model {
                let none = f.scratch.appendingPathComponent("none")
                #expect(try depth.prune(f, out: none, ranks: nil, removeBy("none")).status == 0)
                let b0 = (removal["run"] as! [Int])[0]
                let differing = try differingTensors(none, one)
                #expect(differing.contains("model.layers.\(b0).mlp.down_proj.weight"), "\(differing)")
                #expect(!differing.contains { name in
                    guard name.hasPrefix("model.layers.") else { return true }
                    let block = Int(name.split(separator: ".")[2])!
                    return block < b0 || (block == b0 && !name.hasSuffix("mlp.down_proj.weight"))
                }, "none and linear differ outside block \(b0)'s down_proj and the blocks after it: \(differing)")
            }
        }
    }

    /// `layer`: the training holds out the text's tail and samples its windows from the rest;
    /// the combined run prunes on those windows, so the two-step run prunes the standalone
    /// output with `--calib` the text without its tail (one token per letter). Combined =
    /// two-step, 1 = 2 ranks, the training log in the report, its settings in the plan.
    /// Control: block b's norms in the combined output are the trained ones (not the input's).
    @Test func layerThenWandaEqualsPruningTheStreamlineOutput() throws {
        let (f, text) = try layer.fixture("removeby-layer")
        defer { try? FileManager.default.removeItem(at: f.scratch) }
        let length = StreamlineLayerTests.length, heldout = StreamlineLayerTests.heldout
        let training = ["--train-heldout-windows", String(heldout), "--train-batch", "2", "--train-epochs", "2", "--train-lr", "1e-3"]
        func run(_ model: URL, _ calib: URL, _ out: URL, ranks: Int?, _ flags: [String]) throws -> MPIRun.Outcome {
            try MPIRun.run(["prune", "--model", model.path, "--out", out.path, "--calib", calib.path,
                            "--nsamples", String(DepthPruneTests.windows), "--seqlen", String(length)] + flags, ranks: ranks, timeout: 180)
        }
        let only = f.scratch.appendingPathComponent("only"), twoStep = f.scratch.appendingPathComponent("twostep")
        let s1 = try run(f.model, text, only, ranks: nil, ["--method", "streamline", "--remove-blocks", String(Self.k)] + training)
        #expect(s1.status == 0, "\(s1.stderr)")
        let sampled = f.scratch.appendingPathComponent("sampled.txt")
        let all = try Data(contentsOf: text)
        try all.prefix(all.count - heldout * length).write(to: sampled)
        let s2 = try run(only, sampled, twoStep, ranks: nil, Self.wanda)
        #expect(s2.status == 0, "\(s2.stderr)")
        let one = f.scratch.appendingPathComponent("one"), two = f.scratch.appendingPathComponent("two")
        let a = try run(f.model, text, one, ranks: nil, removeBy("layer") + training)
        #expect(a.status == 0, "\(a.stderr)")
        #expect(a.stderr.contains("trained to stand in for the run"), "\(a.stderr)")
        let b = try run(f.model, text, two, ranks: 2, removeBy("layer") + training)
        #expect(b.status == 0, "\(b.stderr)")
        #expect(try differingTensors(one, twoStep).isEmpty, "combined run differs from the two-step one")
        #expect(try differingTensors(one, two).isEmpty, "tensors differ between 1 and 2 ranks")
        // The windows of both prunes are the same (the second prune's plan names their hash).
        let plan = try depth.json(one.appendingPathComponent("owlprune-plan.json"))
        #expect(plan["windows_hash"] as? String == (try depth.json(twoStep.appendingPathComponent("owlprune-plan.json")))["windows_hash"] as? String)
        let settings = try #require(plan["streamline_training"] as? [String: Any], "\(plan.keys)")
        #expect(settings["epochs"] as? Int == 2 && settings["batch"] as? Int == 2 && settings["heldout_windows"] as? Int == heldout)
        let report = try depth.json(one.appendingPathComponent("owlprune-report.json"))
        let log = try #require(report["streamline_training"] as? [String: Any], "\(report.keys)")
        let standaloneLog = try depth.json(only.appendingPathComponent("owlprune-report.json"))["streamline_training"] as! [String: Any]
        let losses = { (l: [String: Any]) in (l["steps"] as! [[String: Any]]).map { $0["loss"] as! Double } }
        #expect(losses(log) == losses(standaloneLog) && losses(log).count == 4)
        #expect(!FileManager.default.fileExists(atPath: one.path + ".streamline-training"), "the training journal was left behind")
        // Control: the combined output's block b norms are the trained layer's, not the input's.
        let b0 = ((plan["block_removal"] as! [String: Any])["run"] as! [Int])[0]
        let input = try tensorBytes(of: f.model), output = try tensorBytes(of: one)
        for norm in ["input_layernorm", "post_attention_layernorm"] {
            let name = "model.layers.\(b0).\(norm).weight"
            #expect(input[name]?.bytes != output[name]?.bytes, "\(name) was copied from the input")
        }
    }

    /// Refusals in one line, nothing written.
    @Test func removeByStreamlineRefusals() throws {
        let (f, text) = try layer.fixture("removeby-bad")
        defer { try? FileManager.default.removeItem(at: f.scratch) }
        let out = f.scratch.appendingPathComponent("out")
        // `layer` (the default) needs a text to hold out from.
        let tokens = try depth.prune(f, out: out, ranks: 2, Self.wanda + ["--remove-by", "streamline", "--remove-blocks", "2"])
        #expect(tokens.status != 0 && tokens.stderr.contains("--replacement layer needs --calib FILE"), "\(tokens.stderr)")
        let atp = try MPIRun.run(["prune", "--model", f.model.path, "--out", out.path, "--calib", text.path, "--nsamples", "4",
                                  "--seqlen", "32", "--method", "wanda", "--sparsity", "0.5", "--allocation", "atp", "--atp-beta", "auto",
                                  "--remove-by", "streamline", "--remove-blocks", "2"], ranks: nil, timeout: 120)
        #expect(atp.status != 0 && atp.stderr.contains("--atp-beta auto: not available with --remove-by streamline --replacement layer"),
                "\(atp.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }
}
