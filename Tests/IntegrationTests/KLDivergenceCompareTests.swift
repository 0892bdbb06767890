import Foundation
import TestSupport
import Testing

/// Issue 27 items 1–2: `owlprune compare DENSE PRUNED --data FILE` reports llama.cpp's KL-divergence
/// statistics (docs/quality.md): the same bits for 1 and 3 ranks, zero divergence for a model
/// against itself, both perplexities equal to `owlprune eval`'s, llama.cpp's second-half scoring
/// on request, and the values of an independent float64 NumPy forward of the tiny model.
@Suite(.serialized) struct KLDivergenceCompareTests {
    struct Fixture {
        let scratch: URL, dense: URL, pruned: URL, data: String
    }

    static func fixture(_ label: String) throws -> Fixture {
        let scratch = try scratchDirectory(label)
        let dense = scratch.appendingPathComponent("dense"), pruned = scratch.appendingPathComponent("pruned")
        try TinyCheckpoint.write(to: dense, blocks: 3)
        let data = RepoPaths.wikitext.appendingPathComponent("wiki.valid.tokens").path
        let prune = try MPIRun.run(["prune", "--model", dense.path, "--out", pruned.path, "--sparsity", "0.5", "--method", "magnitude",
                                    "--nsamples", "1", "--seqlen", "16", "--calib", data], ranks: nil, timeout: 120)
        #expect(prune.status == 0, "\(prune.stderr)")
        return Fixture(scratch: scratch, dense: dense, pruned: pruned, data: data)
    }

    static func compare(_ a: URL, _ b: URL, data: String, ranks: Int?, _ extra: [String] = []) throws -> [String: Any] {
        let run = try MPIRun.run(["compare", a.path, b.path, "--data", data, "--seqlen", "32", "--max-windows", "3", "--json"] + extra,
                                 ranks: ranks, timeout: 120)
        #expect(run.status == 0, "\(run.stderr)")
        return try JSONSerialization.jsonObject(with: Data((run.stdout.split(separator: "\n").last ?? "").utf8)) as! [String: Any]
    }

    static func canonical(_ object: Any) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    static func nllSums(_ doc: [String: Any]) -> [UInt64] {
        (doc["models"] as! [[String: Any]]).map { (($0["perplexity"] as! [String: Any])["nll_sum"] as! Double).bitPattern }
    }

    @Test func sameBitsForAnyRankCountAndZeroAgainstItself() throws {
        let f = try Self.fixture("kld-ranks")
        defer { try? FileManager.default.removeItem(at: f.scratch) }
        let one = try Self.compare(f.dense, f.pruned, data: f.data, ranks: nil)
        let three = try Self.compare(f.dense, f.pruned, data: f.data, ranks: 3)
        #expect(try Self.canonical(one["divergence"]!) == Self.canonical(three["divergence"]!))
        #expect(Self.nllSums(one) == Self.nllSums(three))
        let d = one["divergence"] as! [String: Any]
        let kld = (d["kld"] as! [String: Any])["value"] as! Double
        let top = (d["same_top"] as! [String: Any])["value"] as! Double
        #expect(d["tokens"] as? Int == 3 * 31 && one["scoring"] as? String == "owlprune")
        // The tiny random model's top token is the input token itself (tied embeddings dominate the
        // residual stream), so the prune moves the distribution without flipping tops here.
        #expect(kld > 0 && top > 0 && top <= 1, "a 50% magnitude prune moves the model: KLD \(kld), same top \(top)")

        // Control: the dense model against itself, exactly no divergence.
        let same = try Self.compare(f.dense, f.dense, data: f.data, ranks: 2)["divergence"] as! [String: Any]
        #expect((same["kld"] as! [String: Any])["value"] as? Double == 0 && same["kld_max"] as? Double == 0)
        #expect((same["same_top"] as! [String: Any])["value"] as? Double == 1)

        // Each perplexity is `owlprune eval`'s, bit for bit.
        let eval = try MPIRun.run(["eval", "--model", f.pruned.path, "--data", f.data, "--seqlen", "32", "--max-windows", "3", "--json"],
                                  ranks: 2, timeout: 120)
        let direct = try JSONSerialization.jsonObject(with: Data((eval.stdout.split(separator: "\n").last ?? "").utf8)) as! [String: Any]
        #expect(Self.nllSums(one)[1] == (direct["nll_sum"] as! Double).bitPattern)

        // llama.cpp's scoring: tokens n_ctx/2+1 … n_ctx−1 of each window, 15 of 32.
        let half = try Self.compare(f.dense, f.pruned, data: f.data, ranks: 2, ["--llama-cpp-scoring"])
        #expect((half["divergence"] as! [String: Any])["tokens"] as? Int == 3 * 15 && half["scoring"] as? String == "llama.cpp")
    }

    /// Against an independent float64 NumPy forward of the tiny LLaMA (HF semantics: rotate-half
    /// RoPE, grouped KV heads, SwiGLU, tied head). owlprune's forward is float32, so values agree to
    /// float32 rounding carried through three blocks: mean KLD within 1e-3 relative, ln PPL within
    /// 1e-5, and at most one of the 93 top tokens may flip on a near-tie.
    @Test func matchesNumPyForward() throws {
        let f = try Self.fixture("kld-numpy")
        defer { try? FileManager.default.removeItem(at: f.scratch) }
        let doc = try Self.compare(f.dense, f.pruned, data: f.data, ranks: 2)
        let d = doc["divergence"] as! [String: Any]
        let script = """
        import json, sys, numpy as np
        from safetensors.numpy import load_file
        dense, pruned, text = sys.argv[1:4]
        L, W, H, KV, D, theta, eps = 32, 3, 4, 2, 8, 10000.0, 1e-5
        raw = open(text, 'rb').read()
        raw = raw[3:] if raw.startswith(b'\\xef\\xbb\\xbf') else raw  # owlprune drops a byte-order mark
        ids = np.frombuffer(raw[:L * W], dtype=np.uint8).astype(np.int64)  # the tiny vocabulary: one token per byte
        def logits(path, x_ids):
            w = {k: v.astype(np.float64) for k, v in load_file(path + '/model.safetensors').items()}
            norm = lambda x, g: x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * g
            inv = 1.0 / theta ** (np.arange(0, D, 2) / D)
            ang = np.outer(np.arange(L), inv); ang = np.concatenate([ang, ang], -1)
            cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
            rot = lambda x: np.concatenate([-x[..., D // 2:], x[..., :D // 2]], -1)
            h = w['model.embed_tokens.weight'][x_ids]
            b = 0
            while f'model.layers.{b}.input_layernorm.weight' in w:
                p = f'model.layers.{b}.'
                x = norm(h, w[p + 'input_layernorm.weight'])
                q = (x @ w[p + 'self_attn.q_proj.weight'].T).reshape(L, H, D)
                k = (x @ w[p + 'self_attn.k_proj.weight'].T).reshape(L, KV, D)
                v = (x @ w[p + 'self_attn.v_proj.weight'].T).reshape(L, KV, D)
                q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
                k, v = np.repeat(k, H // KV, axis=1), np.repeat(v, H // KV, axis=1)
                s = np.einsum('qhd,khd->hqk', q, k) / np.sqrt(D)
                s = np.where(np.tril(np.ones((L, L), bool)), s, -np.inf)
                s = np.exp(s - s.max(-1, keepdims=True)); s /= s.sum(-1, keepdims=True)
                o = np.einsum('hqk,khd->qhd', s, v).reshape(L, H * D)
                h = h + o @ w[p + 'self_attn.o_proj.weight'].T
                x = norm(h, w[p + 'post_attention_layernorm.weight'])
                g = x @ w[p + 'mlp.gate_proj.weight'].T
                h = h + ((g / (1 + np.exp(-g))) * (x @ w[p + 'mlp.up_proj.weight'].T)) @ w[p + 'mlp.down_proj.weight'].T
                b += 1
            return norm(h, w['model.norm.weight']) @ w['model.embed_tokens.weight'].T
        def logsoftmax(x):
            m = x.max(-1, keepdims=True)
            return x - (m + np.log(np.exp(x - m).sum(-1, keepdims=True)))
        kl, top, nb, nq = [], [], [], []
        for win in range(W):
            x = ids[win * L:(win + 1) * L]
            zb, zq = logits(dense, x)[:-1], logits(pruned, x)[:-1]
            lb, lq = logsoftmax(zb), logsoftmax(zq)
            kl += list((np.exp(lb) * (lb - lq)).sum(-1)); top += list(zb.argmax(-1) == zq.argmax(-1))
            nb += list(-lb[np.arange(L - 1), x[1:]]); nq += list(-lq[np.arange(L - 1), x[1:]])
        print(json.dumps(dict(kld=float(np.mean(kl)), same=int(np.sum(top)), n=len(top), ids=ids[:8].tolist(),
                              ln_base=float(np.mean(nb)), ln_q=float(np.mean(nq)))))
        """
        let run = try PythonScript.run(script, arguments: [f.dense.path, f.pruned.path, f.data])
        try #require(run.status == 0, "\(run.log)")
        let ref = try JSONSerialization.jsonObject(with: Data((run.log.split(separator: "\n").last ?? "").utf8)) as! [String: Any]
        let kld = (d["kld"] as! [String: Any])["value"] as! Double, refKLD = ref["kld"] as! Double
        #expect(abs(kld - refKLD) <= 1e-3 * refKLD, "mean KLD owlprune \(kld), NumPy \(refKLD)")
        let n = Double(ref["n"] as! Int)
        let same = (d["same_top"] as! [String: Any])["value"] as! Double
        #expect(abs(same * n - Double(ref["same"] as! Int)) <= 1, "same top owlprune \(same * n), NumPy \(ref["same"]!) of \(n)")
        let ppl = (d["perplexity"] as! [String: Any])["value"] as! Double, base = (d["perplexity_base"] as! [String: Any])["value"] as! Double
        #expect(abs(log(ppl) - (ref["ln_q"] as! Double)) < 1e-5 && abs(log(base) - (ref["ln_base"] as! Double)) < 1e-5,
                "ln PPL owlprune \(log(base)), \(log(ppl)); NumPy \(ref["ln_base"]!), \(ref["ln_q"]!)")
    }

    /// `prune --eval` and every `sweep` cell carry the same statistics `compare` computes; a
    /// sparser magnitude prune moves further from the dense model.
    @Test func pruneEvalAndSweepCellsReportDivergence() throws {
        let f = try Self.fixture("kld-prune-sweep")
        defer { try? FileManager.default.removeItem(at: f.scratch) }
        let out = f.scratch.appendingPathComponent("evaluated")
        let prune = try MPIRun.run(["prune", "--model", f.dense.path, "--out", out.path, "--sparsity", "0.5", "--method", "magnitude",
                                    "--nsamples", "1", "--seqlen", "16", "--calib", f.data,
                                    "--eval", f.data, "--eval-seqlen", "32", "--eval-windows", "3", "--json"], ranks: 2, timeout: 120)
        #expect(prune.status == 0, "\(prune.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data((prune.stdout.split(separator: "\n").last ?? "").utf8)) as! [String: Any]
        let fromPrune = try #require((summary["eval"] as? [String: Any])?["divergence"])
        let fromCompare = try Self.compare(f.dense, out, data: f.data, ranks: nil)["divergence"]!
        #expect(try Self.canonical(fromPrune) == Self.canonical(fromCompare))

        let sweep = f.scratch.appendingPathComponent("sweep")
        let run = try MPIRun.run(["sweep", "--model", f.dense.path, "--out", sweep.path, "--method", "magnitude", "--allocation", "uniform",
                                  "--sparsity", "0.3,0.7", "--calib", f.data, "--nsamples", "1", "--seqlen", "16",
                                  "--eval", f.data, "--eval-seqlen", "32", "--eval-windows", "3"], ranks: 2, timeout: 180)
        #expect(run.status == 0, "\(run.stderr)")
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: sweep.appendingPathComponent("sweep.json"))) as! [String: Any]
        let cells = (doc["cells"] as! [[String: Any]]).sorted { ($0["achievedSparsity"] as! Double) < ($1["achievedSparsity"] as! Double) }
        let kld = cells.map { $0["meanKLD"] as? Double ?? -1 }, top = cells.map { $0["sameTop"] as? Double ?? -1 }
        #expect(kld.count == 2 && kld[0] > 0 && kld[1] > kld[0], "mean KLD by sparsity: \(kld)")
        #expect(top.allSatisfy { $0 > 0 && $0 <= 1 } && top[1] <= top[0], "same top by sparsity: \(top)")
        let header = try String(contentsOf: sweep.appendingPathComponent("sweep.csv"), encoding: .utf8).split(separator: "\n").first ?? ""
        #expect(header.hasSuffix(",mean_kld,same_top,remove_blocks"), "\(header)")
        #expect(run.stderr.contains("mean KLD"), "the screen table names the divergence: \(run.stderr)")
    }

    /// Two vocabularies cannot be compared token by token: one line naming both directories, a
    /// non-zero exit, nothing on stdout. Control: the same pair without `--data` still compares sparsity.
    @Test func differentVocabulariesAreRefusedByName() throws {
        let scratch = try scratchDirectory("kld-vocab")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let a = scratch.appendingPathComponent("a"), b = scratch.appendingPathComponent("b")
        try TinyCheckpoint.write(to: a, blocks: 2)
        try TinyCheckpoint.write(to: b, blocks: 2)
        let config = b.appendingPathComponent("config.json")
        let text = try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: "\"vocab_size\": 256", with: "\"vocab_size\": 300")
        try text.write(to: config, atomically: true, encoding: .utf8)
        let data = RepoPaths.wikitext.appendingPathComponent("wiki.valid.tokens").path
        let run = try MPIRun.run(["compare", a.path, b.path, "--data", data, "--seqlen", "32", "--max-windows", "1"], ranks: 2, timeout: 60)
        #expect(run.status != 0 && run.stdout.isEmpty, "\(run.stdout)")
        let lines = run.stderr.split(separator: "\n").filter { $0.hasPrefix("owlprune") }
        #expect(lines.count >= 1 && lines.allSatisfy { $0.contains(a.path) && $0.contains(b.path) && $0.contains("one vocabulary") },
                "\(run.stderr)")
        let sparsityOnly = try MPIRun.run(["compare", a.path, b.path], ranks: nil, timeout: 60)
        #expect(sparsityOnly.status == 0, "\(sparsityOnly.stderr)")
    }
}
