import Cluster
import Foundation
import Pruning
import Testing
@testable import OwlPruneKit
@testable import owlprune

/// Issue 23 item 1: the report's `arguments` are derived from the run request, so every setting a
/// recipe (or flag) can hold reaches the report where it applies. A recipe key added to
/// `RunRequest.fields` fails `everySettingReachesTheReport` until it has a changed value below and
/// the report records it.
@Suite struct ReportArgumentsTests {
    /// Runs in which the settings apply: a pruning run with OWL, ADMM, DSnoT, DaSS and a removal by
    /// LLM-Streamline (whose training applies), and one per other allocation.
    static let contexts: [[String: String]] = [
        ["method": "sparsegpt", "allocation": "owl", "update": "admm", "dsnot": "true", "dass": "true",
         "remove-blocks": "2", "remove-by": "streamline", "calib": "text.txt"],
        ["allocation": "dlp"],
        ["allocation": "alpha"],
        ["allocation": "atp", "atp-beta": "auto", "calib": "text.txt"],
    ]

    /// A value for every recipe key that differs from each context's own and from the default.
    static let changed: [String: String] = [
        "model": "other", "calib": "other.txt", "calib-tokens": "other.ids", "nsamples": "7", "seqlen": "96", "seed": "5",
        "method": "magnitude", "sparsity": "0.3", "pattern": "2:4", "allocation": "uniform",
        "owl-m": "3", "owl-lambda": "0.2", "atp-beta": "0.7", "atp-grid-points": "3", "atp-heldout-windows": "2",
        "dlp-alpha": "0.3", "alpha-epsilon": "0.1", "alpha-fit": "mid", "update": "none",
        "admm-iterations": "3", "admm-mask-steps": "2", "admm-rho": "0.5", "admm-damp": "0.2",
        "dsnot": "false", "dsnot-sign-constraint": "off", "dsnot-all-layers": "true", "dass": "false", "dass-scope": "all",
        "damp": "0.05", "propagation": "dense", "split": "blocks", "threads": "3", "max-memory": "3GB",
        "dtype": "bf16", "max-shard-size": "2GiB", "remove-blocks": "3", "remove-by": "shortgpt", "replacement": "linear",
        "train-epochs": "2", "train-batch": "3", "train-lr": "0.001", "train-heldout-windows": "2",
    ]

    /// The report's arguments of a recipe, as sorted JSON (the model as the request holds it).
    static func arguments(_ settings: [String: String]) throws -> String {
        let yaml = settings.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "\n")
        let request = try Recipe.parse(yaml, file: "test.yaml").request
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let a = try PruneArguments(request: request, model: request.model ?? "m", out: "out")
        return String(decoding: try encoder.encode(a), as: UTF8.self)
    }

    /// Whether changing `key` changes the report in some context.
    static func reachesTheReport(_ key: String, value: String) throws -> Bool {
        for context in contexts {
            var changedContext = context
            changedContext[key] = value
            if try arguments(context) != arguments(changedContext) { return true }
        }
        return false
    }

    @Test func everySettingReachesTheReport() throws {
        for key in RunRequest.keys {
            let value = try #require(Self.changed[key], "recipe key '\(key)' has no changed value in ReportArgumentsTests")
            #expect(try Self.reachesTheReport(key, value: value), "recipe key '\(key)' does not reach the report's arguments")
        }
    }

    /// The control: a setting that applies to no context's run leaves the report alone, so the
    /// comparison above can fail. `--owl-m` under DLP and `--admm-rho` without ADMM are not recorded.
    @Test func aSettingThatDoesNotApplyIsNotRecorded() throws {
        #expect(try Self.arguments(["allocation": "dlp"]) == Self.arguments(["allocation": "dlp", "owl-m": "3"]))
        #expect(try Self.arguments(["allocation": "dlp"]) == Self.arguments(["allocation": "dlp", "admm-rho": "0.5"]))
    }

    /// Effective values where a setting applies: `--update admm` alone records ADMM's defaults, and
    /// a plain Wanda run records none of the optional settings (its report is as before).
    @Test func effectiveValuesWhereTheyApply() throws {
        let admm = try Self.arguments(["update": "admm"])
        #expect(admm.contains("\"admm_iterations\":\(ADMMOptions().iterations)"))
        #expect(admm.contains("\"update\":\"admm\""))
        let plain = try Self.arguments([:])
        for key in ["update", "admm_rho", "dlp_alpha", "alpha_epsilon", "atp_grid_points", "remove_blocks", "train_lr", "dtype"] {
            #expect(!plain.contains("\"\(key)\""), "a plain run's report holds \(key)")
        }
        let streamline = try Self.arguments(["remove-blocks": "2", "remove-by": "streamline", "calib": "t.txt"])
        #expect(streamline.contains("\"replacement\":\"layer\"") && streamline.contains("\"train_lr\""))
        let shortgpt = try Self.arguments(["remove-blocks": "2", "remove-by": "shortgpt"])
        #expect(shortgpt.contains("\"remove_by\":\"shortgpt\"") && !shortgpt.contains("\"train_lr\""))
    }
}
