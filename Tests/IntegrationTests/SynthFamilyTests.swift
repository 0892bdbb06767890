import Checkpoint
import Foundation
import TestSupport
import Testing

/// `synth` writes checkpoints of every family that `prune` then accepts, and finds SmolLM2's
/// tokenizer from any working directory of a set-up clone, or says which flag it needs.
@Suite(.serialized) struct SynthFamilyTests {
    @Test(arguments: ["mistral", "qwen2", "qwen3"]) func customShapeOfEachFamilyPrunes(_ family: String) throws {
        _ = try RepoPaths.require(RepoPaths.smolHF)
        let scratch = try scratchDirectory("synth-\(family)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let model = scratch.appendingPathComponent("model")
        // Run from a directory without models/: the tokenizer is found beside the binary's clone.
        let synth = try MPIRun.run(["synth", "--shape", "custom", "--family", family, "--hidden", "64", "--intermediate", "128",
                                    "--layers", "2", "--heads", "4", "--kv-heads", "2", "--dtype", "f32", "--out", model.path],
                                   ranks: nil, timeout: 120, currentDirectory: scratch)
        #expect(synth.status == 0, "synth failed: \(synth.stderr)")
        let config = try ModelConfig(contentsOf: model.appendingPathComponent("config.json"))
        #expect(config.family.rawValue == family)
        let names = try CheckpointDirectory(url: model).tensorNames
        #expect(names.contains("model.layers.1.self_attn.q_proj.bias") == (family == "qwen2"))
        #expect(names.contains("model.layers.1.self_attn.k_norm.weight") == (family == "qwen3"))
        let out = scratch.appendingPathComponent("out")
        let prune = try MPIRun.run(["prune", "--model", model.path, "--out", out.path, "--sparsity", "0.5", "--method", "wanda",
                                    "--calib", RepoPaths.wikitext.appendingPathComponent("wiki.valid.tokens").path,
                                    "--nsamples", "2", "--seqlen", "64"], ranks: 2, timeout: 300)
        #expect(prune.status == 0, "prune of synthetic \(family) failed: \(prune.stderr)")
        // Synthetic models have no sliding window (Mistral v0.3 writes `"sliding_window": null`), so no note.
        #expect(config.slidingWindow == nil && !prune.stderr.contains("sliding_window"))
    }

    @Test func withoutAnyTokenizerItNamesTheFlag() throws {
        let scratch = try scratchDirectory("synth-alone")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let copy = scratch.appendingPathComponent("owlprune")
        try FileManager.default.copyItem(at: MPIRun.binary, to: copy)
        let run = try MPIRun.run(["synth", "--shape", "llama-1b", "--out", scratch.appendingPathComponent("m").path],
                                 ranks: nil, timeout: 60, binary: copy, currentDirectory: scratch)
        #expect(run.status != 0)
        #expect(run.stderr.contains("--tokenizer DIR is needed"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.appendingPathComponent("m").path))
    }
}
