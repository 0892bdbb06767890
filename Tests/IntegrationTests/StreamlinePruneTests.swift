import Foundation
import TestSupport
import Testing

/// Issue 24: `prune --method streamline --remove-blocks K --replacement none|linear` on the 6-block
/// tiny model with 4 calibration windows of 32 tokens (the fixture of `DepthPruneTests`).
@Suite(.serialized) struct StreamlinePruneTests {
    let depth = DepthPruneTests()
    static let k = 2

    func flags(_ replacement: String) -> [String] {
        ["--method", "streamline", "--remove-blocks", String(Self.k), "--replacement", replacement]
    }

    /// Every replacement: 1 rank, 2 ranks, 3 ranks and 2 threads write the same bytes (tensors,
    /// plan, config); K blocks fewer, b + 1 … b + K removed; `none` copies every kept tensor
    /// unchanged, `linear` changes exactly block b's down_proj (the control: the byte comparison
    /// that finds the ranks identical does find that one tensor).
    @Test func oneTwoThreeRanksWriteTheSameBytes() throws {
        let f = try depth.fixture("streamline-ranks")
        defer { try? FileManager.default.removeItem(at: f.scratch) }
        var first: [String: URL] = [:]
        for replacement in ["none", "linear"] {
            let one = f.scratch.appendingPathComponent("\(replacement)-1")
            let a = try depth.prune(f, out: one, ranks: nil, flags(replacement))
            #expect(a.status == 0, "\(a.stderr)")
            #expect(a.stderr.contains("streamline: replace blocks"), "no table on stderr: \(a.stderr)")
            first[replacement] = one
            for (ranks, extra) in [(2, [String]()), (3, []), (nil, ["--threads", "2"])] as [(Int?, [String])] {
                let other = f.scratch.appendingPathComponent("\(replacement)-\(ranks ?? 1)-\(extra.count)")
                let b = try depth.prune(f, out: other, ranks: ranks, flags(replacement) + extra)
                #expect(b.status == 0, "\(b.stderr)")
                #expect(try differingTensors(one, other).isEmpty, "\(replacement): tensors differ on \(ranks ?? 1) ranks \(extra)")
                for file in ["owlprune-plan.json", "config.json"] {
                    #expect(try Data(contentsOf: one.appendingPathComponent(file)) == Data(contentsOf: other.appendingPathComponent(file)),
                            "\(replacement): \(file) differs on \(ranks ?? 1) ranks \(extra)")
                }
            }
            let r = try depth.removal(one)
            let run = r["run"] as! [Int], removed = r["removed"] as! [Int]
            #expect(run.count == 2 && run[1] == run[0] + Self.k && removed == Array((run[0] + 1)...(run[0] + Self.k)), "\(r)")
            #expect(r["replacement"] as? String == replacement)
            let scores = r["scores"] as! [Any]
            #expect(scores.count == DepthPruneTests.blocks && scores.suffix(Self.k).allSatisfy { $0 is NSNull }, "\(scores)")
            let config = try String(contentsOf: f.model.appendingPathComponent("config.json"), encoding: .utf8)
            #expect(try String(contentsOf: one.appendingPathComponent("config.json"), encoding: .utf8)
                    == config.replacingOccurrences(of: "\"num_hidden_layers\": 6", with: "\"num_hidden_layers\": 4"))
            let report = try depth.json(one.appendingPathComponent("owlprune-report.json"))
            #expect((report["block_removal"] as? [String: Any])?["run"] as? [Int] == run && report["method"] as? String == "streamline")
        }
        let none = first["none"]!, linear = first["linear"]!
        // The picture of a run without training: the score bars, no loss panel.
        let svg = try String(contentsOf: none.appendingPathComponent("owlprune-streamline.svg"), encoding: .utf8)
        #expect(svg.components(separatedBy: "<rect x=").count - 2 == DepthPruneTests.blocks - Self.k && !svg.contains("<polyline"), "\(svg)")
        let b = (try depth.removal(none))["run"] as! [Int]
        #expect((try depth.removal(linear))["run"] as? [Int] == b, "the selection does not depend on the replacement")
        #expect(try differingTensors(none, linear) == ["model.layers.\(b[0]).mlp.down_proj.weight"])
        // `none`: every output tensor is its input tensor, renumbered.
        let kept = (try depth.removal(none))["kept"] as! [Int]
        let input = try tensorBytes(of: f.model)
        for (name, t) in try tensorBytes(of: none) {
            var source = name
            if name.hasPrefix("model.layers.") {
                let parts = name.split(separator: ".", maxSplits: 3)
                source = "model.layers.\(kept[Int(parts[2])!]).\(parts[3])"
            }
            #expect(input[source]?.bytes == t.bytes, "\(name) is not \(source)")
        }
    }

    /// Checked with PyTorch and transformers' own model: every start's score from transformers'
    /// hidden states (the last one taken before the final norm, as owlprune does), the chosen run
    /// is their argmax; both outputs load with AutoModelForCausalLM and their perplexity on the
    /// calibration windows equals `owlprune eval`'s; ReplaceMe's block b lands closer to
    /// h_{b+K+1} than the unchanged block (least squares over these tokens, T = I being feasible).
    @Test func scoresLinearFitAndPerplexityMatchTransformers() throws {
        let f = try depth.fixture("streamline-torch")
        defer { try? FileManager.default.removeItem(at: f.scratch) }
        var dirs: [String] = []
        for replacement in ["none", "linear"] {
            let out = f.scratch.appendingPathComponent(replacement)
            let run = try depth.prune(f, out: out, ranks: 2, flags(replacement))
            #expect(run.status == 0, "\(run.stderr)")
            dirs.append(out.path)
        }
        let (status, log) = try PythonScript.run(Self.torchScript, arguments: [f.model.path] + dirs + [f.ids.path, String(DepthPruneTests.length)])
        #expect(status == 0, "\(log)")
        let line = try #require(log.split(separator: "\n").first { $0.hasPrefix("RESULT ") }, "\(log)")
        let result = try JSONSerialization.jsonObject(with: Data(line.dropFirst(7).utf8)) as! [String: Any]
        let torchScores = result["scores"] as! [Double]
        let ours = (try depth.removal(URL(fileURLWithPath: dirs[0])))["scores"] as! [Any]
        for (j, s) in torchScores.enumerated() {
            let mine = try #require(ours[j] as? Double)
            #expect(abs(mine - s) <= 1e-6, "start \(j): owlprune \(mine), transformers \(s)")
        }
        let best = torchScores.indices.max { (torchScores[$0], -$0) < (torchScores[$1], -$1) }!
        #expect((try depth.removal(URL(fileURLWithPath: dirs[0])))["run"] as? [Int] == [best, best + Self.k])
        let errors = result["fit_error"] as! [Double]
        #expect(errors[1] < errors[0], "ReplaceMe's squared error \(errors[1]) is not below the unchanged block's \(errors[0])")
        let perplexities = result["perplexity"] as! [Double]
        for (dir, torchPPL) in zip(dirs, perplexities) {
            let ppl = try depth.calibrationPerplexity(f, model: URL(fileURLWithPath: dir))
            #expect(abs(ppl - torchPPL) <= 1e-5 * torchPPL, "\(dir): owlprune eval \(ppl), transformers \(torchPPL)")
        }
    }

    static let torchScript = """
    import sys, json, math, numpy as np, torch
    from transformers import AutoModelForCausalLM
    dense_dir, none_dir, linear_dir, ids_path, L = sys.argv[1:6]
    ids = torch.tensor(np.fromfile(ids_path, dtype="<u4").astype(np.int64)).view(-1, int(L))
    def load(d):
        m = AutoModelForCausalLM.from_pretrained(d, torch_dtype=torch.float32, attn_implementation="eager")
        return m.eval()
    def block_output(m, i):
        got = []
        def hook(mod, inp, out): got.append(out[0] if isinstance(out, tuple) else out)
        h = m.model.layers[i].register_forward_hook(hook)
        logits = m(ids).logits
        h.remove()
        return got[0].double().reshape(-1, got[0].shape[-1]), logits
    plan = json.load(open(linear_dir + "/owlprune-plan.json"))["block_removal"]
    b, last = plan["run"]
    n = last - b + 1
    with torch.no_grad():
        dense = load(dense_dir)
        blocks = dense.config.num_hidden_layers
        out = dense(ids, output_hidden_states=True)
        final, _ = block_output(dense, blocks - 1)
        states = [s.double().reshape(-1, s.shape[-1]) for s in out.hidden_states[:blocks]] + [final]
        scores = []
        for j in range(blocks - n + 1):
            x, y = states[j], states[j + n]
            cos = (x * y).sum(-1) / (x.norm(dim=-1) * y.norm(dim=-1))
            scores.append(float((0.5 + 0.5 * cos).mean()))
        fit, ppl = [], []
        for d in (none_dir, linear_dir):
            m = load(d)
            y, logits = block_output(m, b)
            fit.append(float(((y - states[b + n]) ** 2).sum()))
            nll = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]).double(),
                                                    ids[:, 1:].reshape(-1), reduction="sum")
            ppl.append(math.exp(float(nll) / ids[:, 1:].numel()))
    print("RESULT " + json.dumps({"scores": scores, "fit_error": fit, "perplexity": ppl}))
    """

    @Test func badStreamlineFlagsFailInOneLine() throws {
        let f = try depth.fixture("streamline-bad")
        defer { try? FileManager.default.removeItem(at: f.scratch) }
        let out = f.scratch.appendingPathComponent("out")
        let cases: [([String], String)] = [
            (["--method", "streamline", "--remove-blocks", "2"], "--replacement layer needs --calib FILE"),
            (["--method", "shortgpt", "--remove-blocks", "2", "--replacement", "none"], "--replacement none: only with --method streamline"),
            (["--method", "streamline", "--remove-blocks", "6", "--replacement", "none"], "--remove-blocks 6: the model has 6 blocks"),
            (["--method", "streamline", "--remove-blocks", "2", "--replacement", "layers"], "The value 'layers' is invalid for '--replacement <replacement>'"),
        ]
        for (flags, message) in cases {
            let run = try depth.prune(f, out: out, ranks: 2, flags)
            #expect(run.status != 0, "\(flags) succeeded")
            #expect(run.stderr.contains(message), "\(flags): \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out.path), "\(flags) left an output")
        }
        // 16 tokens cannot determine a 32 × 32 map: refused, nothing written.
        let short = f.scratch.appendingPathComponent("short.ids")
        try Data(try Data(contentsOf: f.ids).prefix(16 * 4)).write(to: short)
        let run = try MPIRun.run(["prune", "--model", f.model.path, "--out", out.path, "--calib-tokens", short.path,
                                  "--nsamples", "1", "--seqlen", "16"] + flags("linear"), ranks: 2, timeout: 120)
        #expect(run.status != 0 && run.stderr.contains("--replacement linear: block"), "\(run.stderr)")
        #expect(run.stderr.contains("singular"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.path), "a refused linear replacement left an output")
    }

    /// `--remove-by streamline --replacement none` before Wanda: the blocks streamline alone
    /// removes go, the remaining four are pruned to 50%, 1 and 2 ranks agree byte for byte.
    @Test func removeByStreamlineThenWanda() throws {
        let f = try depth.fixture("streamline-wanda")
        defer { try? FileManager.default.removeItem(at: f.scratch) }
        let only = f.scratch.appendingPathComponent("only"), one = f.scratch.appendingPathComponent("one"),
            two = f.scratch.appendingPathComponent("two")
        #expect(try depth.prune(f, out: only, ranks: nil, flags("none")).status == 0)
        let wanda = ["--method", "wanda", "--sparsity", "0.5", "--remove-by", "streamline", "--remove-blocks", String(Self.k),
                     "--replacement", "none"]
        let a = try depth.prune(f, out: one, ranks: nil, wanda)
        #expect(a.status == 0, "\(a.stderr)")
        let b = try depth.prune(f, out: two, ranks: 2, wanda)
        #expect(b.status == 0, "\(b.stderr)")
        #expect(try differingTensors(one, two).isEmpty, "tensors differ between 1 and 2 ranks")
        let report = try depth.json(one.appendingPathComponent("owlprune-report.json"))
        #expect((report["block_removal"] as? [String: Any])?["removed"] as? [Int] == (try depth.removal(only))["removed"] as? [Int])
        #expect(abs((report["achieved_sparsity"] as! Double) - 0.5) < 1e-9)
        #expect((try depth.json(one.appendingPathComponent("config.json")))["num_hidden_layers"] as? Int == 6 - Self.k)
        // --dry-run: the depth estimate, then the pruning's; nothing written.
        let dry = f.scratch.appendingPathComponent("dry")
        let d = try depth.prune(f, out: dry, ranks: 2, wanda + ["--dry-run"])
        #expect(d.status == 0 && d.stdout.contains("depth estimate for 2 ranks") && d.stdout.contains("then the pruning"), "\(d.stdout)\(d.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dry.path))
    }
}
