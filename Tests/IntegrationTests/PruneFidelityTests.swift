import Foundation
import TestSupport
import Testing

/// Issue 4's correctness checks on SmolLM2 with the small protocol of
/// Tests/Fixtures/smollm2/README.md (calibration: windows of 512 from wiki.valid.tokens, seed 0;
/// evaluation: the first windows of 512 of wiki.test.raw).
@Suite(.serialized) struct PruneFidelityTests {
    struct EvalJSON: Decodable { let perplexity: Double }

    static let calib = RepoPaths.wikitext.appendingPathComponent("wiki.valid.tokens").path
    static let test = RepoPaths.wikitext.appendingPathComponent("wiki.test.raw").path

    func prune(_ args: [String], out: URL, nsamples: Int = 16) throws {
        let model = try RepoPaths.require(RepoPaths.smolHF).path
        let run = try MPIRun.run(["prune", "--model", model, "--out", out.path, "--calib", Self.calib,
                                  "--nsamples", String(nsamples), "--seqlen", "512"] + args, ranks: nil, timeout: 900)
        #expect(run.status == 0, "prune \(args) failed: \(run.stderr)")
    }

    func perplexity(_ model: URL, windows: Int) throws -> Double {
        let run = try MPIRun.run(["eval", "--model", model.path, "--data", Self.test, "--seqlen", "512",
                                  "--max-windows", String(windows), "--json"], ranks: nil, timeout: 900)
        #expect(run.status == 0, "eval failed: \(run.stderr)")
        let line = run.stdout.split(separator: "\n").last.map(String.init) ?? ""
        return try JSONDecoder().decode(EvalJSON.self, from: Data(line.utf8)).perplexity
    }

    func reference() throws -> [String: Any] {
        let url = try RepoPaths.require(RepoPaths.smolFixtures.appendingPathComponent("reference.json"))
        return try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    func report(_ out: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("owlprune-report.json"))) as! [String: Any]
    }

    /// Wanda 50%, 16 calibration windows, 40 evaluation windows: within 1% of the reference
    /// (issue 4; the reference is PyTorch float32, so only summation order differs). Also checks
    /// that every linear lost exactly rows · floor(cols · s) weights (docs/algorithms.md §5.2).
    @Test func wandaHalfMatchesReferenceAndCountsAreExact() throws {
        let scratch = try scratchDirectory("wanda50")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let out = scratch.appendingPathComponent("out")
        try prune(["--sparsity", "0.5", "--method", "wanda"], out: out)
        let ppl = try perplexity(out, windows: 40)
        let want = (try reference()["small"] as! [String: Any])["wanda-0.5"] as! Double
        #expect(abs(ppl - want) / want < 0.01, "Wanda 50% perplexity \(ppl), reference \(want)")
        let linears = try report(out)["linears"] as! [[String: Any]]
        #expect(linears.count == 30 * 7)
        for l in linears {
            let rows = l["rows"] as! Int, cols = l["cols"] as! Int, s = l["planned_sparsity"] as! Double
            #expect(l["pruned"] as! Int == rows * Int(Double(cols) * s), "\(l["name"]!): pruned \(l["pruned"]!)")
        }
    }

    /// OWL for Wanda 70% (M = 5, λ = 0.08): 30 outlier ratios and 30 block sparsities within 1e-4 of the reference plan.
    @Test func owlPlanMatchesReference() throws {
        let scratch = try scratchDirectory("owlplan")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let model = try RepoPaths.require(RepoPaths.smolHF).path
        let file = scratch.appendingPathComponent("plan.json")
        let run = try MPIRun.run(["plan", "--model", model, "--sparsity", "0.7", "--method", "wanda", "--allocation", "owl",
                                  "--calib", Self.calib, "--nsamples", "16", "--seqlen", "512", "--out", file.path],
                                 ranks: 2, timeout: 600)
        #expect(run.status == 0, "\(run.stderr)")
        let plan = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as! [String: Any]
        let want = ((try reference()["plans"] as! [String: Any])["owl-wanda-0.7"] as! [String: Any])
        for key in ["outlier_ratios", "block_sparsities"] {
            let got = plan[key] as! [Double], ref = want[key] as! [Double]
            #expect(got.count == 30 && ref.count == 30)
            let worst = zip(got, ref).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst < 1e-4, "\(key): max |Δ| \(worst)")
        }
    }

    /// At 70%: magnitude ≫ Wanda > SparseGPT, OWL-Wanda < Wanda, DSnoT-Wanda < Wanda
    /// (docs/algorithms.md §12.3 orderings), with the small protocol's 16 calibration windows and 8
    /// evaluation windows. OWL needs the 16: from 8 windows its plan is worse than uniform on this
    /// model (measured 2026-12-03: 834.9 against 814.0 over 40 evaluation windows; with 16, 844.5
    /// against 921.7 over 8 and 766.8 against 800.2 over 40).
    @Test func seventyPercentOrderings() throws {
        let scratch = try scratchDirectory("orderings")
        defer { try? FileManager.default.removeItem(at: scratch) }
        var ppl: [String: Double] = [:]
        let runs: [(String, [String])] = [
            ("magnitude", ["--method", "magnitude"]), ("wanda", ["--method", "wanda"]),
            ("sparsegpt", ["--method", "sparsegpt"]), ("owl-wanda", ["--method", "wanda", "--allocation", "owl"]),
            ("dsnot-wanda", ["--method", "wanda", "--dsnot"]),
        ]
        for (name, args) in runs {
            let out = scratch.appendingPathComponent(name)
            try prune(["--sparsity", "0.7"] + args, out: out, nsamples: 16)
            ppl[name] = try perplexity(out, windows: 8)
            try? FileManager.default.removeItem(at: out)
        }
        let summary = ppl.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        #expect(ppl["magnitude"]! > 10 * ppl["wanda"]!, "\(summary)")
        #expect(ppl["wanda"]! > ppl["sparsegpt"]!, "\(summary)")
        #expect(ppl["owl-wanda"]! < ppl["wanda"]!, "\(summary)")
        #expect(ppl["dsnot-wanda"]! < ppl["wanda"]!, "\(summary)")
    }
}
