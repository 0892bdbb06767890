import Foundation
import Diagnostics
import Pruning
import Yams

/// A recipe file (docs/recipes.md): every `prune`/`plan` flag under its long name, plus what flags
/// cannot say well — per-block/per-linear `overrides`, `targets` and `ignore`. The flags it holds
/// are placed on the command line before the typed ones, so a typed flag overrides the recipe
/// (swift-argument-parser keeps the last value of a repeated option).
struct Recipe {
    /// Flag-shaped keys: the long option name and whether it takes a value (false: a Bool flag).
    static let flagKeys: [(key: String, takesValue: Bool)] = [
        ("model", true), ("calib", true), ("calib-tokens", true), ("nsamples", true), ("seqlen", true), ("seed", true),
        ("method", true), ("sparsity", true), ("pattern", true), ("allocation", true),
        ("owl-m", true), ("owl-lambda", true), ("atp-beta", true), ("atp-grid-points", true), ("atp-heldout-windows", true),
        ("dlp-alpha", true),
        ("alpha-epsilon", true), ("alpha-fit", true), ("update", true), ("admm-iterations", true),
        ("admm-mask-steps", true), ("admm-rho", true), ("admm-damp", true),
        ("dsnot", false), ("dsnot-sign-constraint", true), ("dsnot-all-layers", false), ("dass", false), ("dass-scope", true),
        ("damp", true), ("propagation", true), ("split", true), ("threads", true), ("max-memory", true),
        ("dtype", true), ("max-shard-size", true),
        ("remove-blocks", true), ("remove-by", true), ("replacement", true),
        ("train-epochs", true), ("train-batch", true), ("train-lr", true), ("train-heldout-windows", true),
    ]
    /// Keys only `prune` has: how the output is written, which `plan` does not need, so a
    /// recipe an earlier prune wrote still drives `plan` (`expand` leaves these out there).
    static let outputKeys: Set<String> = ["dtype", "max-shard-size"]
    /// Depth pruning's keys: `prune` only too (`plan` removes no blocks). The effective recipe
    /// of a `--remove-by` run holds them, or running it again would prune all the blocks.
    static let depthKeys: Set<String> = ["remove-blocks", "remove-by", "replacement", "train-epochs", "train-batch",
                                         "train-lr", "train-heldout-windows"]
    static let structureKeys = ["overrides", "targets", "ignore"]

    var file: String
    /// Command-line arguments equivalent to the recipe's flag keys, in file order.
    var arguments: [String] = []
    /// The same for `outputKeys`, spliced into `prune` only.
    var outputArguments: [String] = []
    var overrides = SparsityOverrides()

    struct Failure: Error, LocalizedError {
        let message: String
        var errorDescription: String? { message }
    }

    static func load(_ path: String) throws -> Recipe {
        let text: String
        do { text = try YAMLLimits.text(of: path) } catch let refusal as YAMLLimits.Refusal {
            throw Failure(message: "--recipe \(printableLine(path)): \(refusal.cause)")
        }
        return try parse(text, file: path)
    }

    static func parse(_ text: String, file: String) throws -> Recipe {
        func fail(_ node: Node?, _ what: String) -> Failure {
            Failure(message: "recipe \(printableLine(file))\(node?.mark.map { " line \($0.line)" } ?? ""): \(what)")
        }
        if let problem = YAMLLimits.violation(in: text) { throw Failure(message: "recipe \(file): \(problem)") }
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch let error as YamlError {
            throw Failure(message: "recipe \(file): not valid YAML (\(String(describing: error).split(separator: "\n").first ?? ""))")
        }
        var recipe = Recipe(file: file)
        guard let root else { return recipe }
        guard let mapping = root.mapping else { throw fail(root, "expected a mapping of keys such as 'method: wanda'") }
        var seen: Set<String> = []
        for (keyNode, value) in mapping {
            guard let key = keyNode.string else { throw fail(keyNode, "keys must be plain names") }
            guard seen.insert(key).inserted else { throw fail(keyNode, "key '\(key)' appears twice") }
            if let flag = flagKeys.first(where: { $0.key == key }) {
                guard let scalar = value.scalar else { throw fail(value, "'\(key)' takes a single value") }
                if outputKeys.contains(key) || depthKeys.contains(key) {
                    recipe.outputArguments += ["--\(key)", scalar.string]
                } else if flag.takesValue {
                    recipe.arguments += ["--\(key)", scalar.string]
                } else {
                    guard let on = value.bool else { throw fail(value, "'\(key)' is true or false, not '\(scalar.string)'") }
                    if on { recipe.arguments.append("--\(key)") }
                }
                continue
            }
            switch key {
            case "targets": recipe.overrides.targets = try patterns(value, key: key, fail: fail)
            case "ignore": recipe.overrides.ignore = try patterns(value, key: key, fail: fail)
            case "overrides":
                guard let list = value.sequence else { throw fail(value, "'overrides' is a list of {blocks, linears, sparsity}") }
                recipe.overrides.rules = try list.map { try rule($0, fail: fail) }
            default:
                let known = (flagKeys.map(\.key) + structureKeys).joined(separator: ", ")
                throw fail(keyNode, "unknown key '\(key)' (known: \(known))")
            }
        }
        return recipe
    }

    private static func patterns(_ node: Node, key: String, fail: (Node?, String) -> Failure) throws -> [String] {
        let items = node.sequence.map(Array.init) ?? [node]
        return try items.map { item in
            guard let p = item.scalar?.string else { throw fail(item, "'\(key)' holds regular expressions (strings)") }
            do { _ = try SparsityOverrides.compile(p, field: key) } catch { throw fail(item, "'\(p)' is not a valid regular expression") }
            return p
        }
    }

    private static func rule(_ node: Node, fail: (Node?, String) -> Failure) throws -> SparsityOverrides.Rule {
        guard let m = node.mapping else { throw fail(node, "an override is a mapping {blocks, linears, sparsity}") }
        var blocks: [Int]?, linears: String?, sparsity: Double?
        for (k, v) in m {
            switch k.string {
            case "blocks":
                let items = v.sequence.map(Array.init) ?? [v]
                blocks = try items.map { item in
                    guard let b = item.int else { throw fail(item, "'blocks' holds block indices (negative: from the end)") }
                    return b
                }
            case "linears":
                guard let p = v.scalar?.string else { throw fail(v, "'linears' is a regular expression") }
                do { _ = try SparsityOverrides.compile(p, field: "linears") } catch { throw fail(v, "'\(p)' is not a valid regular expression") }
                linears = p
            case "sparsity":
                guard let s = v.float, s.isFinite, s >= 0, s < 1 else { throw fail(v, "'sparsity' must be a number in [0, 1)") }
                sparsity = s
            default:
                throw fail(k, "unknown key '\(k.string ?? "?")' in an override (known: blocks, linears, sparsity)")
            }
        }
        guard let sparsity else { throw fail(node, "an override needs 'sparsity'") }
        guard blocks != nil || linears != nil else { throw fail(node, "an override needs 'blocks' or 'linears' (or both)") }
        return SparsityOverrides.Rule(blocks: blocks, linears: linears, sparsity: sparsity)
    }
}
