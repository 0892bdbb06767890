import Foundation

/// What a recipe says that flags cannot (docs/recipes.md): sparsity for chosen blocks or linears,
/// and which linears are pruned at all. Applied to the agreed plan after the allocation, on every
/// rank with the same code, so the plan hash still proves agreement. Patterns are regular
/// expressions over Hugging Face module names (`model.layers.3.self_attn.q_proj`) and match
/// anywhere in the name, as `grep` does; anchor with `^…$` for a whole-name match.
public struct SparsityOverrides: Sendable, Hashable, Codable {
    /// One override; later rules win over earlier ones.
    public struct Rule: Sendable, Hashable, Codable {
        /// Block indices; negative counts from the end (`-1` is the last block). Nil: every block.
        public var blocks: [Int]?
        /// Linears whose module name matches; nil: all seven of each chosen block.
        public var linears: String?
        public var sparsity: Double

        public init(blocks: [Int]? = nil, linears: String? = nil, sparsity: Double) {
            self.blocks = blocks
            self.linears = linears
            self.sparsity = sparsity
        }
    }

    public var rules: [Rule]
    /// Only linears matching one of these are pruned (empty: all).
    public var targets: [String]
    /// Linears matching one of these keep every weight (sparsity 0), whatever the rules say.
    public var ignore: [String]

    public init(rules: [Rule] = [], targets: [String] = [], ignore: [String] = []) {
        self.rules = rules
        self.targets = targets
        self.ignore = ignore
    }

    public var isEmpty: Bool { rules.isEmpty && targets.isEmpty && ignore.isEmpty }

    /// Refuses an expression that does not compile, naming it and where it came from.
    public static func compile(_ pattern: String, field: String) throws -> NSRegularExpression {
        do { return try NSRegularExpression(pattern: pattern) } catch {
            throw PruningError.invalidArgument(argument: field, value: pattern, reason: "not a valid regular expression")
        }
    }

    /// Applies the rules, then `targets` and `ignore`, to `plan`. A rule over whole blocks sets
    /// their block sparsity too, and so does a block whose seven linears end up sharing one
    /// value, so the plan table shows the override; `ignore` changes linears only.
    /// N:M patterns fix the sparsity: there only `targets`/`ignore` (and overrides to 0) apply.
    public func apply(to plan: inout SparsityPlan) throws {
        guard !isEmpty else { return }
        let blocks = plan.blockSparsities.count
        // Every expression is compiled and matched once, against all module names, under a time
        // bound (ModuleNameMatcher); the loops below only look the answers up.
        let names = (0..<blocks).flatMap { block in LinearKind.allCases.map { $0.modulePath(block: block) } }
        func index(_ block: Int, _ kind: LinearKind) -> Int { block * LinearKind.allCases.count + LinearKind.allCases.firstIndex(of: kind)! }
        func matcher(_ pattern: String, field: String) throws -> [Bool] {
            try ModuleNameMatcher(pattern: pattern, field: field, names: names).matches
        }
        let targetMatches = try targets.enumerated().map { try matcher($1, field: "recipe targets[\($0)]") }
        let ignoreMatches = try ignore.enumerated().map { try matcher($1, field: "recipe ignore[\($0)]") }
        // An expression that matches no linear is a typo, not a choice: refused before calibration.
        for (key, list, matched) in [("targets", targets, targetMatches), ("ignore", ignore, ignoreMatches)] {
            for (i, hits) in matched.enumerated() where !hits.contains(true) {
                throw PruningError.invalidArgument(argument: "recipe \(key)[\(i)]", value: list[i],
                                                   reason: "matches no linear (names look like \(LinearKind.q.modulePath(block: 0)))")
            }
        }
        for (i, rule) in rules.enumerated() {
            let field = "recipe overrides[\(i)]"
            guard rule.sparsity.isFinite, rule.sparsity >= 0, rule.sparsity < 1 else {
                throw PruningError.invalidArgument(argument: "\(field).sparsity", value: "\(rule.sparsity)", reason: "must be in [0, 1)")
            }
            if let fixed = plan.pattern.fixedSparsity, rule.sparsity != 0, rule.sparsity != fixed {
                throw PruningError.invalidArgument(argument: "\(field).sparsity", value: "\(rule.sparsity)",
                                                   reason: "pattern \(plan.pattern) fixes the sparsity at \(fixed); only 0 (keep dense) can be overridden")
            }
            let chosen = try (rule.blocks ?? Array(0..<blocks)).map { b -> Int in
                let index = b < 0 ? blocks + b : b
                guard index >= 0, index < blocks else {
                    throw PruningError.invalidArgument(argument: "\(field).blocks", value: "\(b)", reason: "the model has blocks 0…\(blocks - 1)")
                }
                return index
            }
            let matches = try rule.linears.map { try matcher($0, field: "\(field).linears") }
            var matchedAny = false
            for block in chosen {
                if rule.linears == nil { plan.blockSparsities[block] = rule.sparsity }
                for kind in LinearKind.allCases where matches?[index(block, kind)] ?? true {
                    plan.linearSparsities[block][kind] = rule.sparsity
                    matchedAny = true
                }
            }
            guard matchedAny else {
                throw PruningError.invalidArgument(argument: "\(field).linears", value: rule.linears ?? "",
                                                   reason: "matches no linear of the chosen blocks")
            }
        }
        for block in 0..<blocks {
            for kind in LinearKind.allCases {
                let i = index(block, kind)
                let targeted = targetMatches.isEmpty || targetMatches.contains { $0[i] }
                if !targeted || ignoreMatches.contains(where: { $0[i] }) { plan.linearSparsities[block][kind] = 0 }
            }
            let values = Set(LinearKind.allCases.map { plan.sparsity(block: block, kind: $0) })
            if values.count == 1, let only = values.first { plan.blockSparsities[block] = only }
        }
        // A recipe that leaves every weight in place would exit 0 with a copy of the model
        // labelled as pruned: refused (issue 26 item 3). A target of 0 asks for exactly that.
        let wanted = plan.pattern.fixedSparsity ?? plan.targetSparsity
        let pruned = (0..<blocks).contains { block in LinearKind.allCases.contains { plan.sparsity(block: block, kind: $0) > 0 } }
        if wanted > 0 && !pruned {
            throw PruningError.invalidArgument(argument: "recipe", value: "targets/ignore/overrides",
                                               reason: "together they leave no linear to prune (every one keeps all its weights); the run would only copy the model")
        }
    }
}
