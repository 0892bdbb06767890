import ArgumentParser
import Diagnostics
import Foundation
import Pruning

/// `--recipe FILE.yaml` (docs/recipes.md): its settings fill what the typed flags left unset
/// (`OwlPrune.Prune.withRecipe`, `OwlPrune.Plan.withRecipe`); the overrides are the recipe's alone.
package struct RecipeOptions: ParsableArguments {
    /// Explicit: `ParsableArguments` needs an initializer as visible as the type (the command line's module parses it).
    package init() {}
    @Option(help: ArgumentHelp("YAML recipe: any flag under its long name, plus per-block/per-linear overrides, targets and ignore (docs/recipes.md). Flags typed on the command line win.",
                               valueName: "file.yaml"),
            completion: .file(extensions: ["yaml", "yml"]))
    package var recipe: String?

    /// The recipe file read, or an empty one without `--recipe`. A refusal is a usage error.
    package func load() throws -> Recipe {
        guard let recipe else { return Recipe(file: "") }
        do { return try Recipe.load(recipe) } catch let failure as Recipe.Failure { throw ValidationError(failure.message) }
    }

    package func overrides() throws -> SparsityOverrides { try load().overrides }
}

extension Recipe {
    package static let fileName = "owlprune-recipe.yaml"

    /// The effective recipe of a run: the values every flag had (typed, from a recipe or the
    /// default) and the overrides. Rank-independent and deterministic, so running it again
    /// writes the same bytes and the same model.
    package static func render(model: String, method m: MethodOptions, calibration c: CalibrationOptions,
                       split: String?, threads: Int?, overrides: SparsityOverrides,
                       dtype: String? = nil, maxShardSize: String? = nil, depth: DepthOptions? = nil) -> String {
        var lines = ["# owlprune \(BuildInfo.version): the effective recipe of this model (docs/recipes.md).",
                     "# Reproduce it with: owlprune prune --recipe \(fileName) --out DIR"]
        func put(_ key: String, _ value: String) { lines.append("\(key): \(value)") }
        func put(_ key: String, string value: String) { put(key, quoted(value)) }
        put("model", string: model)
        if let f = c.calib { put("calib", string: f) }
        if let f = c.calibTokens { put("calib-tokens", string: f) }
        put("nsamples", "\(c.nsamples)")
        if let s = c.seqlen { put("seqlen", "\(s)") }
        put("seed", "\(c.seed)")
        put("method", m.method.rawValue)
        put("sparsity", "\(m.sparsity)")
        put("pattern", quoted(m.pattern.description))
        put("allocation", m.allocation.rawValue)
        switch m.allocation {
        case .owl: put("owl-m", "\(m.owlM)"); put("owl-lambda", "\(m.owlLambda)")
        case .atp:
            if let b = m.atpBeta { put("atp-beta", m.atpAuto ? quoted(b) : b) }
            if m.atpAuto { put("atp-grid-points", "\(m.atpGridPoints)"); put("atp-heldout-windows", "\(m.atpHeldoutWindows)") }
        case .dlp: put("dlp-alpha", "\(m.dlpAlpha)")
        case .alpha: put("alpha-epsilon", "\(m.alphaEpsilon)"); put("alpha-fit", m.alphaFit.rawValue)
        case .uniform: break
        }
        put("dsnot", "\(m.dsnot)")
        if m.dsnot {
            put("dsnot-sign-constraint", quoted(m.dsnotSignConstraint.rawValue))
            put("dsnot-all-layers", "\(m.dsnotAllLayers)")
        }
        put("dass", "\(m.dass)")
        if m.dass { put("dass-scope", m.dassScope.rawValue) }
        if m.method == .sparsegpt { put("damp", "\(m.damp)") }
        if m.update != .none {
            put("update", m.update.rawValue)
            put("admm-iterations", "\(m.admmIterations)"); put("admm-mask-steps", "\(m.admmMaskSteps)")
            put("admm-rho", "\(m.admmRho)"); put("admm-damp", "\(m.admmDamp)")
        }
        put("propagation", m.propagation.rawValue)
        if let s = split { put("split", s) }
        if let t = threads { put("threads", "\(t)") }
        if let d = dtype { put("dtype", d) }
        if let m = maxShardSize { put("max-shard-size", string: m) }
        if let d = depth {
            if let k = d.removeBlocks { put("remove-blocks", "\(k)") }
            if let by = d.removeBy { put("remove-by", by.rawValue) }
            // The effective replacement (layer by default), so the recipe does not depend on a default.
            if let r = d.effectiveReplacement(method: m.method) { put("replacement", r.rawValue) }
            if let e = d.trainEpochs { put("train-epochs", "\(e)") }
            if let b = d.trainBatch { put("train-batch", "\(b)") }
            if let lr = d.trainLR { put("train-lr", "\(lr)") }
            if let h = d.trainHeldoutWindows { put("train-heldout-windows", "\(h)") }
        }
        if !overrides.rules.isEmpty {
            lines.append("overrides:")
            for r in overrides.rules {
                var first = true
                func item(_ text: String) { lines.append((first ? "  - " : "    ") + text); first = false }
                if let b = r.blocks { item("blocks: [\(b.map(String.init).joined(separator: ", "))]") }
                if let l = r.linears { item("linears: \(quoted(l))") }
                item("sparsity: \(r.sparsity)")
            }
        }
        for (key, list) in [("targets", overrides.targets), ("ignore", overrides.ignore)] where !list.isEmpty {
            lines.append("\(key):")
            lines += list.map { "  - \(quoted($0))" }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A YAML double-quoted scalar (JSON string syntax is valid YAML).
    package static func quoted(_ text: String) -> String { jsonStringLiteral(text) }
}
