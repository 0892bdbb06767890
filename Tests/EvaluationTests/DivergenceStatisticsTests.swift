import Evaluation
import Foundation
import Tensor
import TestSupport
import Testing

/// llama.cpp's `--kl-divergence` statistics (docs/quality.md), checked by hand on two-token
/// vocabularies and against an independent NumPy float64 computation on random logits.
@Suite struct DivergenceStatisticsTests {
    /// P_B = softmax([0, 0]) = [½, ½], P_Q = softmax([ln 3, 0]) = [¾, ¼]:
    /// KL = ½·ln(½/¾) + ½·ln(½/¼) = ½·ln(4/3); both arg-maxes are index 0 (B's tie goes to the first);
    /// the correct token 1 has P_B = ½, P_Q = ¼, so Δp = −¼.
    @Test func twoTokenVocabularyByHand() {
        let c = TokenComparison.compare(base: [0, 0], other: [Float(log(3.0)), 0], target: 1)
        #expect(abs(c.kld - 0.5 * log(4.0 / 3)) < 1e-7, "\(c.kld)")  // ln 3 rounded to float32: ~1e-8
        #expect(c.sameTop)
        #expect(abs(c.deltaP + 0.25) < 1e-7 && abs(c.nllBase - log(2.0)) < 1e-15, "\(c)")
        // Control: Q's top moves to index 1, so the tops differ.
        #expect(!TokenComparison.compare(base: [0, 0], other: [0, 1], target: 1).sameTop)
    }

    /// Identical rows are identical term by term: KL exactly 0, Δp exactly 0, same top.
    @Test func identicalLogitsGiveZeroDivergence() {
        var rng = TestRandom(seed: 5)
        var acc = DivergenceAccumulator()
        for _ in 0..<50 {
            let row = rng.matrix(rows: 1, cols: 40, scale: 6).elements
            let c = TokenComparison.compare(base: row[...], other: row[...], target: 3)
            #expect(c.kld == 0 && c.deltaP == 0 && c.sameTop && c.nll == c.nllBase)
            acc.add(c)
        }
        let s = acc.result()!
        #expect(s.kld.value == 0 && s.kldMaximum == 0 && s.sameTop.value == 1 && s.deltaPRMS.value == 0)
        #expect(s.logPerplexityRatio.value == 0 && s.perplexity == s.perplexityBase)
    }

    /// Every statistic against NumPy: per-token values within float64 rounding of a 40-term sum
    /// (1e-12 relative), percentiles by `numpy.percentile`'s linear rule, which is llama.cpp's.
    @Test func matchesNumPyOnRandomLogits() throws {
        let rows = 257, vocab = 40
        var rng = TestRandom(seed: 11)
        let base = rng.matrix(rows: rows, cols: vocab, scale: 5)
        var other = base
        let noise = rng.matrix(rows: rows, cols: vocab, scale: 1.5)
        for i in 0..<other.count { other.elements[i] += noise.elements[i] }
        let targets = (0..<rows).map { ($0 * 7 + 3) % vocab }
        var acc = DivergenceAccumulator()
        for r in 0..<rows { acc.add(TokenComparison.compare(base: base.row(r), other: other.row(r), target: targets[r])) }
        let s = acc.result()!
        #expect(s.sameTop.value > 0.2 && s.sameTop.value < 0.95, "the noise should flip some tops: \(s.sameTop.value)")

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kld-numpy-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func write(_ values: [Float], _ name: String) throws {
            try values.withUnsafeBufferPointer { try Data(buffer: $0).write(to: dir.appendingPathComponent(name)) }
        }
        try write(base.elements, "base.f32")
        try write(other.elements, "other.f32")
        try write(targets.map(Float.init), "targets.f32")
        let script = """
        import json, sys, numpy as np
        d, rows, vocab = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
        b = np.fromfile(d + '/base.f32', dtype=np.float32).reshape(rows, vocab).astype(np.float64)
        q = np.fromfile(d + '/other.f32', dtype=np.float32).reshape(rows, vocab).astype(np.float64)
        t = np.fromfile(d + '/targets.f32', dtype=np.float32).astype(np.int64)
        def logsoftmax(x):
            m = x.max(axis=1, keepdims=True)
            return x - (m + np.log(np.exp(x - m).sum(axis=1, keepdims=True)))
        lb, lq = logsoftmax(b), logsoftmax(q)
        kld = (np.exp(lb) * (lb - lq)).sum(axis=1)
        idx = np.arange(rows)
        nll_b, nll_q = -lb[idx, t], -lq[idx, t]
        dp = np.exp(-nll_q) - np.exp(-nll_b)
        same = (b.argmax(axis=1) == q.argmax(axis=1)).mean()
        n = rows
        def mu(x):
            m = x.mean(); v = (x * x).mean() - m * m
            return m, (np.sqrt(v / (n - 1)) if v > 0 and n > 10 else 0.0)
        lp, lpb = mu(nll_q), mu(nll_b)
        cov = ((nll_q * nll_b).mean() - nll_q.mean() * nll_b.mean()) / (n - 1)
        mse = mu(dp * dp)
        out = dict(kld=mu(kld), kld_max=kld.max(), kld_min=kld.min(), kld_median=np.median(kld),
                   kld_pct=[np.percentile(kld, 100 * f) for f in [0.999, 0.99, 0.95, 0.90, 0.10, 0.05, 0.01, 0.001]],
                   dp=mu(dp), dp_median=np.median(dp),
                   dp_pct=[np.percentile(dp, 100 * f) for f in [0.999, 0.99, 0.95, 0.90, 0.75, 0.25, 0.10, 0.05, 0.01, 0.001]],
                   rms=np.sqrt(mse[0]), same=same, same_unc=np.sqrt(same * (1 - same) / (n - 1)),
                   ppl=np.exp(lp[0]), ppl_base=np.exp(lpb[0]), ratio=lp[0] - lpb[0],
                   ratio_unc=np.sqrt(lp[1] ** 2 + lpb[1] ** 2 - 2 * cov))
        print(json.dumps({k: (list(map(float, v)) if isinstance(v, (list, tuple)) else float(v)) for k, v in out.items()}))
        """
        let run = try PythonScript.run(script, arguments: [dir.path, "\(rows)", "\(vocab)"])
        try #require(run.status == 0, "\(run.log)")
        let ref = try JSONSerialization.jsonObject(with: Data((run.log.split(separator: "\n").last ?? "").utf8)) as! [String: Any]
        func close(_ a: Double, _ key: String, _ index: Int? = nil, tolerance: Double = 1e-12) {
            let r: Double = index.map { (ref[key] as! [Double])[$0] } ?? (ref[key] as! Double)
            #expect(abs(a - r) <= tolerance * max(1, abs(r)), "\(key)\(index.map { "[\($0)]" } ?? ""): owlprune \(a), NumPy \(r), |Δ| \(abs(a - r))")
        }
        close(s.kld.value, "kld", 0); close(s.kld.uncertainty, "kld", 1)
        close(s.kldMaximum, "kld_max"); close(s.kldMinimum, "kld_min"); close(s.kldMedian, "kld_median")
        for (i, p) in s.kldPercentiles.enumerated() { close(p.value, "kld_pct", i) }
        close(s.deltaP.value, "dp", 0); close(s.deltaP.uncertainty, "dp", 1); close(s.deltaPMedian, "dp_median")
        for (i, p) in s.deltaPPercentiles.enumerated() { close(p.value, "dp_pct", i) }
        close(s.deltaPRMS.value, "rms"); close(s.sameTop.value, "same"); close(s.sameTop.uncertainty, "same_unc")
        close(s.perplexity.value, "ppl"); close(s.perplexityBase.value, "ppl_base")
        close(s.logPerplexityRatio.value, "ratio"); close(s.logPerplexityRatio.uncertainty, "ratio_unc", tolerance: 1e-9)
    }

    /// llama.cpp's summary lines, in its order and formats (a user diffs them against llama-perplexity's).
    @Test func textFollowsLlamaCppLayout() {
        var acc = DivergenceAccumulator()
        var rng = TestRandom(seed: 2)
        for r in 0..<20 {
            let b = rng.matrix(rows: 1, cols: 16, scale: 3).elements, q = rng.matrix(rows: 1, cols: 16, scale: 3).elements
            acc.add(TokenComparison.compare(base: b[...], other: q[...], target: r % 16))
        }
        let lines = acc.result()!.llamaCppLines()
        #expect(lines.first == "====== Perplexity statistics ======")
        #expect(lines.contains { $0.hasPrefix("Mean    KLD: ") && $0.contains(" ± ") })
        #expect(lines.contains { $0.hasPrefix("99.9%   KLD: ") } && lines.contains { $0.hasPrefix(" 0.1%   KLD: ") })
        let median = lines.firstIndex { $0.hasPrefix("Median  KLD:") }!, ninety = lines.firstIndex { $0.hasPrefix("90.0%   KLD:") }!
        #expect(median == ninety + 1)
        #expect(lines.last!.hasPrefix("Same top p: ") && lines.last!.hasSuffix(" %"))
    }
}
