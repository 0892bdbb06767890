import Checkpoint
import Cluster
@testable import Distribution
import Foundation
import Pruning
import TestSupport
import Testing
@testable import OwlPruneKit
@testable import owlprune

/// Issue 23 item 1: an option that changes the bits of the pruned blocks must change the resume
/// fingerprint (`RunFingerprint`), or `--resume` would splice blocks of another run into this one.
/// Every recipe key (= every `prune` flag a recipe may hold) is classified here; a new key fails
/// `everyRecipeKeyIsClassified` until it is, and a key classified as changing the pruned bits
/// fails `eachPruningOptionChangesTheFingerprint` until the fingerprint holds it.
@Suite struct FingerprintCoverageTests {
    enum Effect {
        /// Changes the pruned blocks: base flags and the same run with this option changed.
        case pruned(base: [String], changed: [String])
        /// Decides the calibration windows, which the fingerprint holds by count, length and token hash.
        case windows
        /// Only how the output is written, after the journal: blocks are journaled in float32 whole.
        case outputOnly
        /// Bits identical for any value (docs/design.md §3), or the input identified by its bytes.
        case none
        /// Only picks a value another key holds: `--atp-beta auto`'s grid picks β, and the
        /// fingerprint holds the β chosen.
        case resolvedInto(String)
        /// Removes whole blocks: such a run journals nothing (`Prune.swift`: no journal with a
        /// removal), so no resume can mix its blocks with another run's. `flags` set the key.
        case removesBlocks([String])
    }

    static let effects: [String: Effect] = [
        "model": .none, "threads": .none, "split": .none, "max-memory": .none,
        "dtype": .outputOnly, "max-shard-size": .outputOnly,
        "calib": .windows, "calib-tokens": .windows, "nsamples": .windows, "seqlen": .windows,
        "atp-grid-points": .resolvedInto("atp-beta"), "atp-heldout-windows": .resolvedInto("atp-beta"),
        "seed": .pruned(base: [], changed: ["--seed", "7"]),
        "method": .pruned(base: [], changed: ["--method", "magnitude"]),
        "sparsity": .pruned(base: [], changed: ["--sparsity", "0.55"]),
        "pattern": .pruned(base: [], changed: ["--pattern", "2:4"]),
        "allocation": .pruned(base: [], changed: ["--allocation", "dlp"]),
        "owl-m": .pruned(base: ["--allocation", "owl"], changed: ["--owl-m", "6"]),
        "owl-lambda": .pruned(base: ["--allocation", "owl"], changed: ["--owl-lambda", "0.1"]),
        "atp-beta": .pruned(base: ["--allocation", "atp", "--atp-beta", "0.01"], changed: ["--atp-beta", "0.02"]),
        "dlp-alpha": .pruned(base: ["--allocation", "dlp"], changed: ["--dlp-alpha", "0.2"]),
        "alpha-epsilon": .pruned(base: ["--allocation", "alpha"], changed: ["--alpha-epsilon", "0.2"]),
        "alpha-fit": .pruned(base: ["--allocation", "alpha"], changed: ["--alpha-fit", "mid"]),
        "update": .pruned(base: [], changed: ["--update", "admm"]),
        "admm-iterations": .pruned(base: ["--update", "admm"], changed: ["--admm-iterations", "9"]),
        "admm-mask-steps": .pruned(base: ["--update", "admm"], changed: ["--admm-mask-steps", "4"]),
        "admm-rho": .pruned(base: ["--update", "admm"], changed: ["--admm-rho", "2"]),
        "admm-damp": .pruned(base: ["--update", "admm"], changed: ["--admm-damp", "0.2"]),
        "dsnot": .pruned(base: [], changed: ["--dsnot"]),
        "dsnot-sign-constraint": .pruned(base: ["--dsnot"], changed: ["--dsnot-sign-constraint", "off"]),
        "dsnot-all-layers": .pruned(base: ["--dsnot"], changed: ["--dsnot-all-layers"]),
        "dass": .pruned(base: [], changed: ["--dass"]),
        "dass-scope": .pruned(base: ["--dass"], changed: ["--dass-scope", "all"]),
        "damp": .pruned(base: ["--method", "sparsegpt"], changed: ["--damp", "0.02"]),
        "propagation": .pruned(base: [], changed: ["--propagation", "dense"]),
        "remove-blocks": .removesBlocks(["--method", "shortgpt", "--remove-blocks", "1"]),
        "remove-by": .removesBlocks(["--remove-by", "shortgpt", "--remove-blocks", "1"]),
        "replacement": .removesBlocks(["--method", "streamline", "--remove-blocks", "1", "--replacement", "none"]),
        "train-epochs": .removesBlocks(["--method", "streamline", "--remove-blocks", "1", "--train-epochs", "2"]),
        "train-batch": .removesBlocks(["--method", "streamline", "--remove-blocks", "1", "--train-batch", "2"]),
        "train-lr": .removesBlocks(["--method", "streamline", "--remove-blocks", "1", "--train-lr", "0.001"]),
        "train-heldout-windows": .removesBlocks(["--method", "streamline", "--remove-blocks", "1", "--train-heldout-windows", "2"]),
    ]

    @Test func everyRecipeKeyIsClassified() {
        let keys = Set(RunRequest.keys)
        #expect(keys.subtracting(Self.effects.keys).sorted() == [], "recipe keys nobody decided on")
        #expect(Set(Self.effects.keys).subtracting(keys).sorted() == [], "classified keys that are no recipe key")
    }

    static let checkpoint: CheckpointDirectory = try! CheckpointDirectory(url: RecipeFlagsTests.model)
    static let stream = (0..<4000).map { ($0 * 7919) % 256 }

    static func fingerprint(_ flags: [String], stream: [Int] = stream) throws -> RunFingerprint {
        let p = try RecipeFlagsTests.prune(["--calib", "t.txt", "--nsamples", "4", "--seqlen", "16"] + flags)
        let windows = try CalibrationWindows.sample(stream: stream, count: p.calibration.nsamples,
                                                    length: p.calibration.seqlen ?? 16, seed: p.calibration.seed, file: "t.txt")
        let configuration = p.method.configuration(modelID: "tiny", seed: p.calibration.seed)
        return try RunFingerprint(configuration: configuration, windows: windows, checkpoint: checkpoint)
    }

    @Test(arguments: effects.keys.sorted())
    func eachPruningOptionChangesTheFingerprint(key: String) throws {
        switch Self.effects[key]! {
        case let .pruned(base, changed):
            #expect(try Self.fingerprint(base) != Self.fingerprint(base + changed), "--\(key) is missing from the fingerprint")
        case .none, .outputOnly:
            // Control: the fingerprint is not merely different on every parse.
            let flags: [String] = switch key {
            case "threads": ["--threads", "3"]
            case "split": ["--split", "blocks"]
            case "max-memory": ["--max-memory", "9GB"]
            case "dtype": ["--dtype", "bf16"]
            case "max-shard-size": ["--max-shard-size", "1MB"]
            default: []
            }
            #expect(try Self.fingerprint([]) == Self.fingerprint(flags), "--\(key) should not change the fingerprint")
        case .windows:
            let changed: (flags: [String], stream: [Int]) = switch key {
            case "nsamples": (["--nsamples", "5"], Self.stream)
            case "seqlen": (["--seqlen", "17"], Self.stream)
            default: ([], Self.stream.map { ($0 + 1) % 256 })  // another text or token file: other tokens
            }
            #expect(try Self.fingerprint([]) != Self.fingerprint(changed.flags, stream: changed.stream))
        case let .removesBlocks(flags):
            let p = try RecipeFlagsTests.prune(["--calib", "t.txt"] + flags)
            #expect(p.depth.removal(method: p.method.method) != nil, "--\(key): the run removes blocks, so it journals nothing")
            let plain = try RecipeFlagsTests.prune(["--calib", "t.txt"])
            #expect(plain.depth.removal(method: plain.method.method) == nil, "control: a plain prune removes no block")
        case let .resolvedInto(other):
            #expect(Self.effects[other].map { if case .pruned = $0 { true } else { false } } == true)
        }
    }
}
