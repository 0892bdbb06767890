import Checkpoint
import Cluster
import Foundation
import Pruning
import TestSupport
import Testing
@testable import OwlPruneKit
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

    /// `prune` parsed the way `main` parses it and runs it: the typed flags, then the recipe's
    /// settings wherever no flag was typed (`withRecipe`, what `run` does first).
    static func pruneWithRecipe(_ yaml: String, _ typed: [String] = []) throws -> OwlPrune.Prune {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("owlprune-cli-\(getpid())-\(UUID().uuidString).yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        return try OwlPrune.Prune.parse(["--recipe", file.path, "--model", model.path, "--out", "/nonexistent/out"] + typed).withRecipe()
    }

    /// Everything a run is derived from, as text: the effective recipe and the report's arguments.
    static func describe(_ p: OwlPrune.Prune) throws -> String {
        let recipe = Recipe.render(model: p.model.model, method: p.method, calibration: p.calibration, split: p.split?.rawValue,
                                   threads: p.threads, overrides: SparsityOverrides(), dtype: p.dtype?.rawValue,
                                   maxShardSize: p.maxShardSize?.text)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let arguments = try PruneArguments(request: p.request, model: p.model.model, out: p.output.out)
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
        #expect(try fromRecipe.pruneRun(overrides: SparsityOverrides()).shardSizeBytes == 2 << 30)
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

    /// Every setting of `RunRequest` a recipe gives reaches the command (a field that an option
    /// group's `fill(from:)` forgets fails here), and no recipe value is the default (control).
    @Test func everySettingOfARecipeReachesTheRun() throws {
        let yaml = """
            model: other-model
            calib: other.txt
            calib-tokens: w.ids
            nsamples: 16
            seqlen: 128
            seed: 3
            method: sparsegpt
            sparsity: 0.6
            pattern: 2:4
            allocation: atp
            owl-m: 4
            owl-lambda: 0.1
            atp-beta: 0.02
            atp-grid-points: 3
            atp-heldout-windows: 2
            dlp-alpha: 0.2
            alpha-epsilon: 0.2
            alpha-fit: mid
            update: admm
            admm-iterations: 5
            admm-mask-steps: 3
            admm-rho: 0.5
            admm-damp: 0.2
            dsnot: true
            dsnot-sign-constraint: off
            dsnot-all-layers: true
            dass: true
            dass-scope: all
            damp: 0.02
            propagation: dense
            split: blocks
            threads: 3
            max-memory: 3GB
            dtype: bf16
            max-shard-size: 2GiB
            remove-blocks: 2
            remove-by: sleb
            replacement: linear
            train-epochs: 2
            train-batch: 3
            train-lr: 0.001
            train-heldout-windows: 5
            """
        let recipe = try Recipe.parse(yaml, file: "r.yaml")
        // The command with nothing typed that the recipe gives (model and calib are required typed here).
        var bare = try Self.prune(["--calib", "t.txt"])
        bare.model.givenModel = nil
        bare.calibration.calib = nil
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("owlprune-cli-\(getpid())-all.yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        bare.recipe.recipe = file.path
        let merged = try bare.withRecipe()
        func json(_ r: RunRequest) throws -> [String: String] {
            let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(r)) as! [String: Any]
            return object.mapValues { "\($0)" }
        }
        let given = try json(recipe.request), reached = try json(merged.request), unset = try json(bare.request)
        #expect(Set(given.keys) == Set(RunRequest.keys), "the recipe above must set every setting")
        for key in RunRequest.keys {
            #expect(reached[key] == given[key], "recipe key '\(key)' does not reach the run")
            #expect(unset[key] != given[key], "control: '\(key)' in the recipe is not its default")
        }
    }

    /// The short names stay what users type (`-m`, `-o`, `-t`): the model option's storage is an
    /// optional under another property name, so its short name is given, not derived.
    @Test func shortNamesAreUnchanged() throws {
        let p = try OwlPrune.Prune.parse(["-m", Self.model.path, "-o", "/nonexistent/out", "-t", "2", "--calib", "t.txt"])
        #expect(p.model.model == Self.model.path && p.output.out == "/nonexistent/out" && p.threads == 2)
        // Control: a short name that does not exist is refused.
        #expect(throws: (any Error).self) { try OwlPrune.Prune.parse(["-g", Self.model.path, "-o", "/x", "--calib", "t.txt"]) }
    }

    /// A recipe value its flag would refuse is one line naming the file, the line and the key.
    @Test func aBadRecipeValueIsNamed() throws {
        for (yaml, expected) in [("method: wanda\nsparsity: lots\n", "recipe r.yaml line 2: 'sparsity' cannot be 'lots'"),
                                 ("method: wandda\n", "recipe r.yaml line 1: 'method' cannot be 'wandda' (one of: magnitude, wanda, sparsegpt, ria, shortgpt, sleb, streamline)"),
                                 ("dsnot: maybe\n", "recipe r.yaml line 1: 'dsnot' is true or false, not 'maybe'"),
                                 ("max-shard-size: 48G\n", "recipe r.yaml line 1: 'max-shard-size': ")] {
            do {
                _ = try Recipe.parse(yaml, file: "r.yaml")
                Issue.record("accepted: \(yaml)")
            } catch let f as Recipe.Failure {
                #expect(f.message.hasPrefix(expected), "\(f.message)")
            }
        }
        // Control: the same keys with good values are accepted.
        let good = try Recipe.parse("method: ria\nsparsity: 0.4\ndsnot: yes\nmax-shard-size: 48GB\n", file: "r.yaml")
        #expect(good.request.method == .ria && good.request.sparsity == 0.4 && good.request.dsnot == true
                && good.request.maxShardSize?.bytes == 48_000_000_000)
    }

    /// A recipe key that is not a flag is one line naming it and the known keys.
    @Test func anUnknownKeyIsNamed() throws {
        #expect(throws: Recipe.Failure.self) { try Recipe.parse("sparsty: 0.5\n", file: "r.yaml") }
        do { _ = try Recipe.parse("method: wanda\nsparsty: 0.5\n", file: "r.yaml") } catch let f as Recipe.Failure {
            #expect(f.message.hasPrefix("recipe r.yaml line 2: unknown key 'sparsty' (known: model, calib,"), "\(f.message)")
        }
    }
}
