import Checkpoint
import Cluster
import Foundation
import Pruning
import TestSupport
import Testing
@testable import owlprune

/// Issue 23 item 6: the command line layer tested without running a prune. A recipe and the same
/// flags must give the same run (the same effective recipe, configuration and report
/// arguments); the effective recipe must read back as the run it describes.
@Suite struct RecipeFlagsTests {
    /// A checkpoint directory `ModelOptions.validate` accepts.
    static let model: URL = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("owlprune-cli-tests-\(getpid())")
        let (model, _) = try! BadInputFixtures.tiny(in: dir)
        return model
    }()

    static func prune(_ arguments: [String]) throws -> OwlPrune.Prune {
        try OwlPrune.Prune.parse(["--model", model.path, "--out", "/nonexistent/out"] + arguments)
    }

    /// `prune` parsed the way `main` parses it: the recipe's flags spliced in before the typed ones.
    static func pruneWithRecipe(_ yaml: String, _ typed: [String] = []) throws -> OwlPrune.Prune {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("owlprune-cli-\(getpid())-\(UUID().uuidString).yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let expanded = try Recipe.expand(["prune", "--recipe", file.path, "--model", model.path, "--out", "/nonexistent/out"] + typed)
        return try OwlPrune.Prune.parse(Array(expanded.dropFirst()))
    }

    /// Everything a run is derived from, as text: the effective recipe and the report's arguments.
    static func describe(_ p: OwlPrune.Prune) throws -> String {
        let recipe = Recipe.render(model: p.model.model, method: p.method, calibration: p.calibration, split: p.split?.rawValue,
                                   threads: p.threads, overrides: SparsityOverrides(), dtype: p.dtype?.rawValue,
                                   maxShardSize: p.maxShardSize?.text)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let arguments = PruneArguments(method: p.method, calibration: p.calibration, model: p.model.model, out: p.output.out,
                                       split: p.split?.rawValue, threads: p.threads)
        return recipe + String(decoding: try encoder.encode(arguments), as: UTF8.self)
    }

    static let recipe = """
        method: sparsegpt
        sparsity: 0.6
        pattern: 2:4
        allocation: owl
        owl-m: 4
        owl-lambda: 0.1
        dsnot: true
        dsnot-sign-constraint: off
        dsnot-all-layers: true
        damp: 0.02
        update: admm
        admm-iterations: 5
        admm-rho: 0.5
        propagation: dense
        split: blocks
        threads: 3
        nsamples: 16
        seqlen: 128
        seed: 3
        calib: text.txt
        dtype: bf16
        max-shard-size: 2GiB
        max-memory: 3GB
        """

    static let flags = ["--method", "sparsegpt", "--sparsity", "0.6", "--pattern", "2:4", "--allocation", "owl",
                        "--owl-m", "4", "--owl-lambda", "0.1", "--dsnot", "--dsnot-sign-constraint", "off", "--dsnot-all-layers",
                        "--damp", "0.02", "--update", "admm", "--admm-iterations", "5", "--admm-rho", "0.5",
                        "--propagation", "dense", "--split", "blocks", "--threads", "3", "--nsamples", "16", "--seqlen", "128",
                        "--seed", "3", "--calib", "text.txt", "--dtype", "bf16", "--max-shard-size", "2GiB", "--max-memory", "3GB"]

    @Test func aRecipeAndTheSameFlagsGiveTheSameRun() throws {
        let fromRecipe = try Self.pruneWithRecipe(Self.recipe)
        let fromFlags = try Self.prune(Self.flags)
        #expect(try Self.describe(fromRecipe) == Self.describe(fromFlags))
        #expect(fromRecipe.memory.maxMemoryBytes == 3_000_000_000 && fromFlags.memory.maxMemoryBytes == 3_000_000_000)
        #expect(fromRecipe.shardSizeBytes == 2 << 30)
        // Control: one value changed is seen.
        let other = try Self.prune(Self.flags + ["--owl-lambda", "0.12"])
        #expect(try Self.describe(other) != Self.describe(fromFlags))
    }

    /// A typed flag wins over the recipe's value (it comes later on the command line).
    @Test func aTypedFlagOverridesTheRecipe() throws {
        let p = try Self.pruneWithRecipe(Self.recipe, ["--sparsity", "0.7", "--propagation", "sequential"])
        #expect(p.method.sparsity == 0.7 && p.method.propagation == .sequential)
        #expect(p.method.method == .sparsegpt)
    }

    /// The effective recipe a prune writes reads back as the same run, and renders to the same
    /// bytes again (a fixed point), for every allocation and method option group.
    @Test(arguments: [
        [] as [String],
        ["--allocation", "atp", "--atp-beta", "0.02"],
        ["--allocation", "atp", "--atp-beta", "auto", "--atp-grid-points", "3", "--atp-heldout-windows", "2"],
        ["--allocation", "dlp", "--dlp-alpha", "0.2"],
        ["--allocation", "alpha", "--alpha-epsilon", "0.2", "--alpha-fit", "mid", "--update", "admm", "--admm-mask-steps", "3"],
        ["--method", "wanda", "--dass", "--dass-scope", "all", "--pattern", "4:8"],
        ["--method", "sparsegpt", "--damp", "0.05", "--calib-tokens", "w.ids"],
        ["--method", "ria", "--dtype", "f16", "--max-shard-size", "500MB"],
    ])
    func theEffectiveRecipeReadsBackAsTheSameRun(extra: [String]) throws {
        let base = extra.contains("--calib-tokens") ? [] : ["--calib", "text.txt"]
        let run = try Self.prune(base + ["--nsamples", "8"] + extra)
        let rendered = try Self.describe(run)
        let recipeText = String(rendered[..<rendered.range(of: "{")!.lowerBound])
        let reread = try Self.pruneWithRecipe(recipeText)
        #expect(try Self.describe(reread) == rendered)
    }

    /// A recipe key that is not a flag is one line naming it and the known keys.
    @Test func anUnknownKeyIsNamed() throws {
        #expect(throws: Recipe.Failure.self) { try Recipe.parse("sparsty: 0.5\n", file: "r.yaml") }
        do { _ = try Recipe.parse("method: wanda\nsparsty: 0.5\n", file: "r.yaml") } catch let f as Recipe.Failure {
            #expect(f.message.hasPrefix("recipe r.yaml line 2: unknown key 'sparsty' (known: model, calib,"), "\(f.message)")
        }
    }
}
