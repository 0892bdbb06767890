import Checkpoint
import Evaluation
import Foundation
import MPIKit
import OwlPruneKit
import Pruning
import TestSupport
import Testing

/// The application library called directly, as the command line calls it (issue 23 item 2): a
/// run is a value, its progress arrives as events, its result is returned.
@Suite struct PruneRunTests {
    /// A fresh directory with the tiny checkpoint (`blocks` blocks) and its calibration text.
    private func scratch(blocks: Int = 2) throws -> (dir: URL, model: URL, text: URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("owlprune-kit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let (model, text) = try BadInputFixtures.tiny(in: dir, blocks: blocks)
        return (dir, model, text)
    }

    /// `owlprune prune`'s flags, parsed by the option groups the command line uses.
    private func run(model: URL, text: URL, out: URL, method: [String], eval: Bool = false, depth: [String] = []) throws -> PruneRun {
        let evaluation = eval ? ["--eval", text.path, "--eval-seqlen", "16", "--eval-windows", "2"] : []
        return PruneRun(model: model.path, output: try OutputOptions.parse(["--out", out.path]),
                        method: try MethodOptions.parse(method),
                        calibration: try CalibrationOptions.parse(["--calib", text.path, "--nsamples", "2", "--seqlen", "16"]),
                        depth: try DepthOptions.parse(depth), memory: try MemoryOptions.parse([]),
                        evaluation: try EvalAfterPruneOptions.parse(evaluation), overrides: SparsityOverrides(),
                        threads: 1, split: nil, dtype: nil, maxShardSize: nil)
    }

    /// The plan arrives once, as an event, and is the plan the run wrote and returned; the
    /// evaluation after pruning is `eval`'s on the written directory, bit for bit (one
    /// `PerplexityRun` for both). Controls: the dense model's perplexity differs from the pruned
    /// one, and another sparsity gives another plan event.
    @Test func pruneReportsItsPlanAndEvaluatesAsEvalDoes() throws {
        try MPITestLock.run {
            let comm = try Communicator.initializeWorld()
            let (dir, model, text) = try scratch()
            defer { try? FileManager.default.removeItem(at: dir) }
            var events: [RunEvent] = []
            let out = dir.appendingPathComponent("pruned")
            let outcome = try run(model: model, text: text, out: out, method: ["--method", "wanda", "--sparsity", "0.5"], eval: true)
                .run(comm: comm, events: { events.append($0) })
            guard case .pruned(let summary)? = outcome else { Issue.record("no prune outcome: \(String(describing: outcome))"); return }
            let plans = events.compactMap { if case .plan(let p) = $0 { p } else { nil } }
            #expect(plans == [summary.plan])
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("owlprune-plan.json").path))
            #expect(abs(summary.report.achievedSparsity - 0.5) < 0.01)

            let eval = { (m: URL) in try EvalRun(model: m.path, data: text.path, seqlen: 16, maxWindows: 2, memory: try MemoryOptions.parse([]))
                .run(comm: comm, events: { _ in })! }
            let pruned = try eval(out), dense = try eval(model)
            let afterPrune = try #require(summary.perplexity)
            #expect(afterPrune.pruned.nllSum == pruned.nllSum && afterPrune.pruned.tokensScored == pruned.tokensScored)
            #expect(afterPrune.dense?.nllSum == dense.nllSum)
            #expect(dense.nllSum != pruned.nllSum)

            var other: [RunEvent] = []
            _ = try run(model: model, text: text, out: dir.appendingPathComponent("other"), method: ["--method", "wanda", "--sparsity", "0.7"])
                .run(comm: comm, events: { other.append($0) })
            let otherPlans = other.compactMap { if case .plan(let p) = $0 { p } else { nil } }
            #expect(otherPlans.count == 1 && otherPlans != plans)
        }
    }

    /// A depth-only run removes K blocks, says which as one event before writing, and returns
    /// them; nothing is pruned, so no plan event. Control: the written config has B − K blocks.
    @Test func depthOnlyRunReportsTheChosenBlocks() throws {
        try MPITestLock.run {
            let comm = try Communicator.initializeWorld()
            let (dir, model, text) = try scratch(blocks: 4)
            defer { try? FileManager.default.removeItem(at: dir) }
            var events: [RunEvent] = []
            let out = dir.appendingPathComponent("shallow")
            let outcome = try run(model: model, text: text, out: out, method: ["--method", "shortgpt"], depth: ["--remove-blocks", "1"])
                .run(comm: comm, events: { events.append($0) })
            guard case .depthOnly(let depth)? = outcome else { Issue.record("no depth outcome: \(String(describing: outcome))"); return }
            let chosen = events.compactMap { if case .blocksChosen(let r) = $0 { r.removed } else { nil } }
            #expect(chosen == [depth.report.blockRemoval.removed])
            #expect(depth.report.blockRemoval.removed.count == 1 && depth.originalBlocks == 4)
            #expect(!events.contains { if case .plan = $0 { true } else { false } })
            let config = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("config.json"))) as? [String: Any]
            #expect(config?["num_hidden_layers"] as? Int == 3)
        }
    }

    /// A recipe decoded into a `RunRequest` and the same settings as flags are one run: the
    /// written tensors and plan are the same bytes. Control: the recipe at another sparsity
    /// writes other tensors.
    @Test func aRecipeRequestAndTheSameFlagsAreOneRun() throws {
        try MPITestLock.run {
            let comm = try Communicator.initializeWorld()
            let (dir, model, text) = try scratch()
            defer { try? FileManager.default.removeItem(at: dir) }
            let byFlags = dir.appendingPathComponent("flags")
            _ = try run(model: model, text: text, out: byFlags, method: ["--method", "wanda", "--sparsity", "0.5", "--allocation", "owl"])
                .run(comm: comm, events: { _ in })
            func byRecipe(sparsity: String, out: URL) throws {
                let yaml = """
                    model: "\(model.path)"
                    calib: "\(text.path)"
                    nsamples: 2
                    seqlen: 16
                    method: wanda
                    sparsity: \(sparsity)
                    allocation: owl
                    threads: 1
                    """
                let request = try Recipe.parse(yaml, file: "test.yaml").request
                _ = try PruneRun(request: request, output: try OutputOptions.parse(["--out", out.path]),
                                 evaluation: try EvalAfterPruneOptions.parse([])).run(comm: comm, events: { _ in })
            }
            let same = dir.appendingPathComponent("recipe"), other = dir.appendingPathComponent("recipe-0.6")
            try byRecipe(sparsity: "0.5", out: same)
            try byRecipe(sparsity: "0.6", out: other)
            let bytes = { (d: URL, f: String) in try Data(contentsOf: d.appendingPathComponent(f)) }
            #expect(try bytes(byFlags, "model.safetensors") == bytes(same, "model.safetensors"))
            #expect(try bytes(byFlags, "owlprune-plan.json") == bytes(same, "owlprune-plan.json"))
            #expect(try bytes(byFlags, "model.safetensors") != bytes(other, "model.safetensors"))
        }
    }
}
