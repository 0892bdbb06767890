import Foundation
import TestSupport
import Testing

/// Issue 9 item 2: SparseGPT (running-mean Hessian), DSnoT (window means and variances),
/// DSnoT over SparseGPT and Wanda (both propagations), all with OWL's allocation, write
/// byte-identical tensors and plan for R = 1…4 in both splits; this is the rank-identity matrix
/// (PruneIdentityTests checks a few rank counts on SmolLM2). A tiny
/// synthetic model (6 blocks of hidden 128) and 7 windows of 64 tokens keep each run under a
/// second; 7 windows over 2, 3 and 4 ranks give uneven shares, and with 4 ranks one rank owns
/// blocks without being first or last in the chain.
@Suite(.serialized) struct WindowSplitIdentityTests {
    struct SynthFailed: Error { let stderr: String }

    static let model = Result(catching: { () throws -> URL in
        let dir = try scratchDirectory("tiny-synth")
        let tokenizer = try RepoPaths.require(RepoPaths.smolHF).path
        let run = try MPIRun.run(["synth", "--shape", "custom", "--hidden", "128", "--intermediate", "320", "--layers", "6",
                                  "--heads", "4", "--kv-heads", "2", "--dtype", "bf16", "--seed", "1", "--tokenizer", tokenizer,
                                  "--out", dir.appendingPathComponent("m").path], ranks: nil, timeout: 120)
        guard run.status == 0 else { throw SynthFailed(stderr: run.stderr) }
        return dir.appendingPathComponent("m")
    })

    func prune(_ method: [String], ranks: Int?, split: String, out: URL, extra: [String] = []) throws -> MPIRun.Outcome {
        let calib = RepoPaths.wikitext.appendingPathComponent("wiki.valid.tokens").path
        return try MPIRun.run(["prune", "--model", try Self.model.get().path, "--out", out.path, "--sparsity", "0.6",
                               "--allocation", "owl", "--calib", calib, "--nsamples", "7", "--seqlen", "64",
                               "--split", split] + method + extra, ranks: ranks, timeout: 120)
    }

    @Test(arguments: [["--method", "sparsegpt"], ["--method", "wanda", "--dsnot"], ["--method", "sparsegpt", "--dsnot"],
                      ["--method", "sparsegpt", "--propagation", "dense"], ["--method", "wanda"], ["--method", "wanda", "--propagation", "dense"]])
    func sequentialOutputIsByteIdenticalForEveryRankCountAndSplit(method: [String]) throws {
        let scratch = try scratchDirectory("split-identity")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let reference = scratch.appendingPathComponent("reference")
        let first = try prune(method, ranks: nil, split: "blocks", out: reference, extra: ["--threads", "1"])
        #expect(first.status == 0, "reference failed: \(first.stderr)")
        let plan = try Data(contentsOf: reference.appendingPathComponent("owlprune-plan.json"))
        for (ranks, split) in [(nil, "windows"), (2, "windows"), (3, "windows"), (4, "windows"), (2, "blocks"), (4, "blocks")] {
            let out = scratch.appendingPathComponent("r\(ranks ?? 1)-\(split)")
            let run = try prune(method, ranks: ranks, split: split, out: out)
            let what = "\(method.joined(separator: " ")), \(ranks ?? 1) ranks, --split \(split)"
            #expect(run.status == 0, "\(what): \(run.stderr)")
            #expect(try differingTensors(reference, out).isEmpty, "\(what): tensors differ from the reference")
            #expect(try Data(contentsOf: out.appendingPathComponent("owlprune-plan.json")) == plan, "\(what): plan differs")
        }
        // The comparison can fail: the same method on 6 windows instead of 7 changes the tensors.
        let fewer = scratch.appendingPathComponent("fewer")
        let calib = RepoPaths.wikitext.appendingPathComponent("wiki.valid.tokens").path
        let other = try MPIRun.run(["prune", "--model", try Self.model.get().path, "--out", fewer.path, "--sparsity", "0.6",
                                    "--allocation", "owl", "--calib", calib, "--nsamples", "6", "--seqlen", "64"] + method,
                                   ranks: 2, timeout: 120)
        #expect(other.status == 0, "\(other.stderr)")
        #expect(try !differingTensors(reference, fewer).isEmpty, "statistics of 6 and 7 windows gave the same tensors")
    }
}
