import Foundation
import TestSupport
import Testing

/// Issue 5 items 5 and 6: a rank killed with SIGKILL stops the job with a non-zero exit and no
/// `OUT/`; `--resume` (here with a different rank count) reuses the journaled blocks and writes
/// output byte-identical to an uninterrupted run.
@Suite(.serialized) struct ResumeTests {
    func prune(out: URL, ranks: Int, extra: [String] = [], environment: [String: String] = [:]) throws -> MPIRun.Outcome {
        let model = try RepoPaths.require(RepoPaths.smolHF).path
        let calib = RepoPaths.wikitext.appendingPathComponent("wiki.valid.tokens").path
        return try MPIRun.run(["prune", "--model", model, "--out", out.path, "--sparsity", "0.6", "--method", "wanda",
                               "--allocation", "owl", "--calib", calib, "--nsamples", "4", "--seqlen", "128"] + extra,
                              ranks: ranks, timeout: 600, environment: environment)
    }

    @Test func killedRankLeavesNoOutputAndResumeIsByteIdentical() throws {
        let scratch = try scratchDirectory("resume")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let reference = scratch.appendingPathComponent("reference")
        let clean = try prune(out: reference, ranks: 2)
        #expect(clean.status == 0, "\(clean.stderr)")
        #expect(!FileManager.default.fileExists(atPath: reference.path + ".partial"), "journal not removed after success")

        let out = scratch.appendingPathComponent("out")
        let killed = try prune(out: out, ranks: 2, environment: ["OWLPRUNE_FAULT_KILL_AT": "journaled block 20"])
        #expect(killed.status != 0 && !killed.timedOut, "killed run: status \(killed.status)")
        #expect(!FileManager.default.fileExists(atPath: out.path), "OUT/ appeared after a killed rank")
        let journal = try FileManager.default.contentsOfDirectory(atPath: out.path + ".partial").filter { $0.hasPrefix("block-") && $0.hasSuffix(".json") }
        #expect(journal.count == 21, "expected blocks 0…20 journaled, found \(journal.sorted())")

        let resumed = try prune(out: out, ranks: 3, extra: ["--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try differingTensors(reference, out).isEmpty, "resumed output differs from the uninterrupted run")
        let planA = try Data(contentsOf: reference.appendingPathComponent("owlprune-plan.json"))
        let planB = try Data(contentsOf: out.appendingPathComponent("owlprune-plan.json"))
        #expect(planA == planB)
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("owlprune-report.json"))) as! [String: Any]
        let reused = (report["per_rank"] as! [[String: Any]]).flatMap { $0["resumed_blocks"] as! [Int] }
        #expect(reused.sorted() == Array(0...20), "resumed blocks \(reused.sorted())")
    }
}
