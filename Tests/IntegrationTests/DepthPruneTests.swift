import Foundation
import TestSupport
import Testing

/// Issue 12 item 6: `prune --remove-blocks K --method shortgpt|sleb` (and `--remove-by` before a
/// pruning method) on a 6-block tiny model with 4 calibration windows of 32 tokens.
@Suite(.serialized) struct DepthPruneTests {
    static let blocks = 6, windows = 4, length = 32

    struct Fixture {
        let scratch: URL, model: URL, ids: URL, text: URL
    }

    /// The tiny model, calibration ids (lowercase letters, so the same bytes as a text file are
    /// the same tokens under the byte-level tokenizer) and that text.
    func fixture(_ label: String) throws -> Fixture {
        let scratch = try scratchDirectory("depth-\(label)")
        let model = scratch.appendingPathComponent("tiny")
        try TinyCheckpoint.write(to: model, blocks: Self.blocks)
        var state: UInt64 = 12345
        var bytes: [UInt8] = []
        for _ in 0..<(Self.windows * Self.length) {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            bytes.append(97 + UInt8((state >> 33) % 26))
        }
        var ids = Data()
        for b in bytes { withUnsafeBytes(of: UInt32(b).littleEndian) { ids.append(contentsOf: $0) } }
        let idsURL = scratch.appendingPathComponent("calib.ids"), textURL = scratch.appendingPathComponent("calib.txt")
        try ids.write(to: idsURL)
        try Data(bytes).write(to: textURL)
        return Fixture(scratch: scratch, model: model, ids: idsURL, text: textURL)
    }

    func prune(_ f: Fixture, model: URL? = nil, out: URL, ranks: Int?, _ extra: [String]) throws -> MPIRun.Outcome {
        try MPIRun.run(["prune", "--model", (model ?? f.model).path, "--out", out.path, "--calib-tokens", f.ids.path,
                        "--nsamples", String(Self.windows), "--seqlen", String(Self.length)] + extra, ranks: ranks, timeout: 120)
    }

    func json(_ url: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    func removal(_ out: URL) throws -> [String: Any] {
        try json(out.appendingPathComponent("owlprune-plan.json"))["block_removal"] as! [String: Any]
    }

    /// Calibration perplexity of a model with `owlprune eval` on the calibration bytes (the same
    /// windows: consecutive, non-overlapping, of the same length).
    func calibrationPerplexity(_ f: Fixture, model: URL) throws -> Double {
        let run = try MPIRun.run(["eval", "--model", model.path, "--data", f.text.path, "--seqlen", String(Self.length), "--json"],
                                 ranks: nil, timeout: 60)
        #expect(run.status == 0, "eval \(model.lastPathComponent): \(run.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any]
        #expect(object["windows"] as? Int == Self.windows, "eval cut \(String(describing: object["windows"])) windows")
        return object["perplexity"] as! Double
    }

    /// Writes `model` without `block` with Python (safetensors, json): the independent way to build
    /// a candidate model, and to zero a block's output projections.
    func python(_ script: String, _ arguments: [String]) throws {
        let (status, log) = try PythonScript.run(script, arguments: arguments)
        #expect(status == 0, "\(log)")
    }

    static let dropBlockScript = """
    import json, sys, os, shutil
    from safetensors.numpy import load_file, save_file
    src, dst, drop = sys.argv[1], sys.argv[2], int(sys.argv[3])
    os.makedirs(dst)
    w = load_file(src + "/model.safetensors")
    out = {}
    for name, a in w.items():
        if name.startswith("model.layers."):
            b = int(name.split(".")[2])
            if b == drop: continue
            if b > drop: name = "model.layers.%d.%s" % (b - 1, ".".join(name.split(".")[3:]))
        out[name] = a
    save_file(out, dst + "/model.safetensors", metadata={"format": "pt"})
    c = json.load(open(src + "/config.json"))
    c["num_hidden_layers"] -= 1
    json.dump(c, open(dst + "/config.json", "w"))
    shutil.copy(src + "/tokenizer.json", dst + "/tokenizer.json")
    """

    @Test func shortGPTKeepsTheOtherBlocksByteForByteOnOneAndTwoRanks() throws {
        let f = try fixture("shortgpt")
        defer { try? FileManager.default.removeItem(at: f.scratch) }
        let one = f.scratch.appendingPathComponent("one"), two = f.scratch.appendingPathComponent("two")
        let a = try prune(f, out: one, ranks: nil, ["--method", "shortgpt", "--remove-blocks", "2", "--eval", f.text.path,
                                                    "--eval-seqlen", String(Self.length)])
        #expect(a.status == 0, "\(a.stderr)")
        #expect(a.stdout.contains("depth-pruned"), "\(a.stdout)")
        let b = try prune(f, out: two, ranks: 2, ["--method", "shortgpt", "--remove-blocks", "2", "--threads", "2"])
        #expect(b.status == 0, "\(b.stderr)")
        #expect(try differingTensors(one, two).isEmpty, "tensors differ between 1 and 2 ranks")
        for file in ["owlprune-plan.json", "config.json"] {
            #expect(try Data(contentsOf: one.appendingPathComponent(file)) == Data(contentsOf: two.appendingPathComponent(file)),
                    "\(file) differs between 1 and 2 ranks")
        }
        let r = try removal(one)
        let removed = r["removed"] as! [Int], kept = r["kept"] as! [Int], scores = r["scores"] as! [Double]
        #expect(removed.count == 2 && kept.count == 4 && scores.count == Self.blocks)
        // The removed blocks are the two of lowest influence.
        let threshold = removed.map { scores[$0] }.max()!
        #expect(kept.allSatisfy { scores[$0] >= threshold }, "scores \(scores), removed \(removed)")
        // Every output tensor is its input tensor, renumbered; nothing else is written.
        let input = try tensorBytes(of: f.model), output = try tensorBytes(of: one)
        #expect(output.count == input.count - 2 * 9, "\(output.count) tensors for \(input.count) in the input")
        for (name, t) in output {
            var source = name
            if name.hasPrefix("model.layers.") {
                let parts = name.split(separator: ".", maxSplits: 3)
                source = "model.layers.\(kept[Int(parts[2])!]).\(parts[3])"
            }
            #expect(input[source]?.bytes == t.bytes && input[source]?.shape == t.shape, "\(name) is not \(source)")
        }
        // config.json: only num_hidden_layers changes, byte for byte.
        let config = try String(contentsOf: f.model.appendingPathComponent("config.json"), encoding: .utf8)
        let expected = config.replacingOccurrences(of: "\"num_hidden_layers\": 6", with: "\"num_hidden_layers\": 4")
        #expect(expected != config)
        #expect(try String(contentsOf: one.appendingPathComponent("config.json"), encoding: .utf8) == expected)
        // The report lists the removal and the scores.
        let report = try json(one.appendingPathComponent("owlprune-report.json"))
        let reported = report["block_removal"] as! [String: Any]
        #expect(reported["removed"] as? [Int] == removed && (reported["scores"] as? [Double])?.count == Self.blocks)
        #expect(report["remove_blocks"] as? Int == 2 && report["method"] as? String == "shortgpt")
        #expect(a.stderr.contains("shortgpt: remove 2 of 6 blocks"), "no table on stderr: \(a.stderr)")
        // owlprune eval loads the reduced model.
        _ = try calibrationPerplexity(f, model: one)
    }

    /// A block whose attention and MLP output projections are zero is the identity (cos = 1 for
    /// every token): BI = 0, so ShortGPT removes exactly it.
    @Test func shortGPTRemovesAnIdentityBlock() throws {
        let f = try fixture("identity")
        defer { try? FileManager.default.removeItem(at: f.scratch) }
        let zeroed = f.scratch.appendingPathComponent("zeroed")
        try python("""
        import sys, os, shutil
        from safetensors.numpy import load_file, save_file
        src, dst = sys.argv[1], sys.argv[2]
        shutil.copytree(src, dst)
        w = load_file(src + "/model.safetensors")
        for n in ["self_attn.o_proj", "mlp.down_proj"]: w["model.layers.3.%s.weight" % n][:] = 0
        save_file(w, dst + "/model.safetensors", metadata={"format": "pt"})
        """, [f.model.path, zeroed.path])
        let out = f.scratch.appendingPathComponent("out")
        let run = try prune(f, model: zeroed, out: out, ranks: 2, ["--method", "shortgpt", "--remove-blocks", "1"])
        #expect(run.status == 0, "\(run.stderr)")
        let r = try removal(out)
        let scores = r["scores"] as! [Double]
        #expect(r["removed"] as? [Int] == [3], "removed \(String(describing: r["removed"])), scores \(scores)")
        #expect(abs(scores[3]) < 1e-12 && scores.enumerated().allSatisfy { $0.offset == 3 || $0.element > 1e-6 }, "\(scores)")
    }

    /// SLEB's first pick is the candidate whose removal gives the lowest calibration perplexity,
    /// checked with models built without each candidate by Python and scored by `owlprune eval`.
    @Test func slebPicksTheCandidateWithTheLowestCalibrationPerplexity() throws {
        let f = try fixture("sleb")
        defer { try? FileManager.default.removeItem(at: f.scratch) }
        let out = f.scratch.appendingPathComponent("out"), two = f.scratch.appendingPathComponent("two")
        let run = try prune(f, out: out, ranks: nil, ["--method", "sleb", "--remove-blocks", "2"])
        #expect(run.status == 0, "\(run.stderr)")
        let r = try removal(out)
        let removed = r["removed"] as! [Int]
        let firstRound = (r["rounds"] as! [[Any]])[0].map { $0 as? Double }
        #expect(firstRound[0] == nil && firstRound[Self.blocks - 1] == nil, "the first and last blocks are never candidates")
        var measured: [Int: Double] = [:]
        for c in 1..<(Self.blocks - 1) {
            let candidate = f.scratch.appendingPathComponent("without-\(c)")
            try python(Self.dropBlockScript, [f.model.path, candidate.path, String(c)])
            measured[c] = try calibrationPerplexity(f, model: candidate)
            let ours = try #require(firstRound[c])
            #expect(abs(ours - measured[c]!) <= 1e-9 * measured[c]!, "block \(c): SLEB \(ours), eval \(measured[c]!)")
        }
        let best = measured.min { ($0.value, $0.key) < ($1.value, $1.key) }!.key
        #expect(removed.count == 2 && removed[0] == best, "SLEB removed \(removed), eval's best first pick is \(best): \(measured)")
        let b = try prune(f, out: two, ranks: 2, ["--method", "sleb", "--remove-blocks", "2"])
        #expect(b.status == 0, "\(b.stderr)")
        #expect(try differingTensors(out, two).isEmpty, "tensors differ between 1 and 2 ranks")
        #expect(try Data(contentsOf: out.appendingPathComponent("owlprune-plan.json")) == Data(contentsOf: two.appendingPathComponent("owlprune-plan.json")))
    }

    /// transformers reads the reduced config, and the shards hold blocks 0…3 only.
    @Test func transformersReadsTheReducedModel() throws {
        let f = try fixture("transformers")
        defer { try? FileManager.default.removeItem(at: f.scratch) }
        let out = f.scratch.appendingPathComponent("out")
        let run = try prune(f, out: out, ranks: 2, ["--method", "shortgpt", "--remove-blocks", "2"])
        #expect(run.status == 0, "\(run.stderr)")
        try python("""
        import sys, json
        from transformers import AutoConfig
        from safetensors.numpy import load_file
        d = sys.argv[1]
        c = AutoConfig.from_pretrained(d)
        assert c.num_hidden_layers == 4 and c.hidden_size == 32, c
        import os
        if os.path.exists(d + "/model.safetensors.index.json"):
            index = json.load(open(d + "/model.safetensors.index.json"))
            names = {}
            for shard in sorted(set(index["weight_map"].values())): names.update(load_file(d + "/" + shard))
            assert set(names) == set(index["weight_map"])
        else:
            names = load_file(d + "/model.safetensors")
        layers = sorted({int(n.split(".")[2]) for n in names if n.startswith("model.layers.")})
        assert layers == [0, 1, 2, 3], layers
        print("ok")
        """, [out.path])
    }

    /// `--remove-by shortgpt` before Wanda: the same blocks go as with ShortGPT alone, the rest is
    /// pruned to 50%, and 1 and 2 ranks agree byte for byte.
    @Test func removalThenWandaOnTheRemainingBlocks() throws {
        let f = try fixture("combined")
        defer { try? FileManager.default.removeItem(at: f.scratch) }
        let only = f.scratch.appendingPathComponent("only"), one = f.scratch.appendingPathComponent("one"),
            two = f.scratch.appendingPathComponent("two")
        #expect(try prune(f, out: only, ranks: nil, ["--method", "shortgpt", "--remove-blocks", "2"]).status == 0)
        let flags = ["--method", "wanda", "--sparsity", "0.5", "--remove-by", "shortgpt", "--remove-blocks", "2"]
        // --eval reads the reduced model with its own config.
        let a = try prune(f, out: one, ranks: nil, flags + ["--eval", f.text.path, "--eval-seqlen", String(Self.length)])
        #expect(a.status == 0, "\(a.stderr)")
        #expect(a.stdout.contains("perplexity on calib.txt: dense"), "\(a.stdout)")
        let b = try prune(f, out: two, ranks: 2, flags)
        #expect(b.status == 0, "\(b.stderr)")
        #expect(try differingTensors(one, two).isEmpty, "tensors differ between 1 and 2 ranks")
        let report = try json(one.appendingPathComponent("owlprune-report.json"))
        let reported = report["block_removal"] as! [String: Any]
        #expect(reported["removed"] as? [Int] == (try removal(only))["removed"] as? [Int])
        #expect((report["linears"] as! [Any]).count == 4 * 7 && abs((report["achieved_sparsity"] as! Double) - 0.5) < 1e-9)
        #expect((try json(one.appendingPathComponent("config.json")))["num_hidden_layers"] as? Int == 4)
        // The plan records the removal and covers the 4 remaining blocks; identical on 2 ranks.
        let plan = try json(one.appendingPathComponent("owlprune-plan.json"))
        #expect(((plan["block_removal"] as? [String: Any])?["removed"] as? [Int]) == reported["removed"] as? [Int])
        #expect((plan["block_sparsities"] as? [Double])?.count == 4)
        #expect(try Data(contentsOf: one.appendingPathComponent("owlprune-plan.json")) == Data(contentsOf: two.appendingPathComponent("owlprune-plan.json")))
        _ = try calibrationPerplexity(f, model: one)
    }

    @Test func badRemoveBlocksValuesFailInOneLine() throws {
        let f = try fixture("bad")
        defer { try? FileManager.default.removeItem(at: f.scratch) }
        let out = f.scratch.appendingPathComponent("out")
        let cases: [([String], String)] = [
            (["--method", "shortgpt", "--remove-blocks", "0"], "--remove-blocks 0: must be at least 1"),
            (["--method", "shortgpt", "--remove-blocks", "6"], "--remove-blocks 6: the model has 6 blocks"),
            (["--method", "sleb", "--remove-blocks", "5"], "--remove-blocks 5: SLEB never removes the first or last"),
            (["--method", "shortgpt"], "--method shortgpt needs --remove-blocks K"),
            (["--method", "wanda", "--remove-blocks", "2"], "--remove-blocks 2 needs --method shortgpt|sleb"),
            (["--method", "wanda", "--remove-by", "short", "--remove-blocks", "2"], "The value 'short' is invalid for '--remove-by <remove-by>'. Please provide one of 'shortgpt', 'sleb' or 'streamline'"),
            (["--method", "sleb", "--remove-by", "sleb", "--remove-blocks", "1"], "--remove-by sleb: --method sleb already removes blocks"),
        ]
        for (flags, message) in cases {
            let run = try prune(f, out: out, ranks: 2, flags)
            #expect(run.status != 0, "\(flags) succeeded")
            #expect(run.stderr.contains(message), "\(flags): \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out.path), "\(flags) left an output")
        }
    }
}
