import Foundation
import Diagnostics
import Pruning
import Yams

/// A recipe file (docs/recipes.md): every `prune`/`plan` setting under its flag's long name
/// (decoded into a `RunRequest`, the type the flags fill too), plus what flags cannot say well —
/// per-block/per-linear `overrides`, `targets` and `ignore`. A typed flag overrides the recipe's
/// value (`RunRequest`, `fill(from:)`).
package struct Recipe {
    package var file: String
    /// The settings the recipe gives (nil: not in the recipe).
    package var request = RunRequest()
    package var overrides = SparsityOverrides()

    package struct Failure: Error, LocalizedError {
        package let message: String
        package var errorDescription: String? { message }
    }

    package static func load(_ path: String) throws -> Recipe {
        let text: String
        do { text = try YAMLLimits.text(of: path) } catch let refusal as YAMLLimits.Refusal {
            throw Failure(message: "--recipe \(printableLine(path)): \(refusal.cause)")
        }
        return try parse(text, file: path)
    }

    package static func parse(_ text: String, file: String) throws -> Recipe {
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
        var settings: [String: Node] = [:]
        for (keyNode, value) in mapping {
            guard let key = keyNode.string else { throw fail(keyNode, "keys must be plain names") }
            guard seen.insert(key).inserted else { throw fail(keyNode, "key '\(key)' appears twice") }
            if RunRequest.field(key) != nil {
                guard value.scalar != nil else { throw fail(value, "'\(key)' takes a single value") }
                settings[key] = value
                continue
            }
            switch key {
            case "targets": recipe.overrides.targets = try patterns(value, key: key, fail: fail)
            case "ignore": recipe.overrides.ignore = try patterns(value, key: key, fail: fail)
            case "overrides":
                guard let list = value.sequence else { throw fail(value, "'overrides' is a list of {blocks, linears, sparsity}") }
                recipe.overrides.rules = try list.map { try rule($0, fail: fail) }
            default:
                let known = (RunRequest.keys + RunRequest.structureKeys).joined(separator: ", ")
                throw fail(keyNode, "unknown key '\(key)' (known: \(known))")
            }
        }
        // The settings as the one request type, through Yams' decoder; a refused value names its line.
        do { recipe.request = try YAMLDecoder().decode(RunRequest.self, from: text) } catch {
            if let invalid = invalidValue(in: error) { throw fail(settings[invalid.key], invalid.reason) }
            throw Failure(message: "recipe \(printableLine(file)): \(String(describing: error).split(separator: "\n").first ?? "")")
        }
        return recipe
    }

    /// The refused value inside an error of Yams' decoder (which wraps what `init(from:)` throws).
    private static func invalidValue(in error: Error) -> RunRequest.InvalidValue? {
        if let invalid = error as? RunRequest.InvalidValue { return invalid }
        if case let DecodingError.dataCorrupted(context) = error, let underlying = context.underlyingError {
            return invalidValue(in: underlying)
        }
        return nil
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
