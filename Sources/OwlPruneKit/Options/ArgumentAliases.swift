/// The reference scripts' flag names (locuslab/wanda and luuyin/OWL `main.py`: `--sparsity_ratio`,
/// `--sparsity_type`, `--prune_method`, `--nsamples`, `--Hyper_m`, `--Lamda`), accepted so a
/// command line copied from a paper's README works; each is rewritten to owlprune's name before
/// parsing, with a one-line note. `--nsamples` is already owlprune's name.
package enum ArgumentAliases {
    /// alias → owlprune flag.
    package static let renamed: [String: String] = [
        "--sparsity_ratio": "--sparsity", "--sparsity_type": "--pattern", "--Hyper_m": "--owl-m", "--Lamda": "--owl-lambda",
    ]

    /// Returns the rewritten arguments and one note per alias used.
    package static func rewrite(_ arguments: [String]) -> (arguments: [String], notes: [String]) {
        var out: [String] = [], notes: [String] = []
        var i = 0
        while i < arguments.count {
            var flag = arguments[i], inlineValue: String? = nil
            if flag.hasPrefix("--"), let eq = flag.firstIndex(of: "=") {
                inlineValue = String(flag[flag.index(after: eq)...])
                flag = String(flag[..<eq])
            }
            func value() -> String? {
                if let inlineValue { return inlineValue }
                guard i + 1 < arguments.count else { return nil }
                i += 1
                return arguments[i]
            }
            if let name = renamed[flag] {
                notes.append("note: \(flag) is owlprune's \(name)")
                out.append(name)
                if let v = value() { out.append(v) }
            } else if flag == "--prune_method" {
                // OWL's script names the allocation inside the method: wanda_owl, sparsegpt_owl, magnitude_owl.
                guard let v = value() else { out.append("--method"); i += 1; continue }
                let lower = v.lowercased()
                if lower.hasSuffix("_owl") {
                    let method = String(lower.dropLast(4))
                    notes.append("note: --prune_method \(v) is owlprune's --method \(method) --allocation owl")
                    out += ["--method", method, "--allocation", "owl"]
                } else {
                    notes.append("note: --prune_method is owlprune's --method")
                    out += ["--method", lower]
                }
            } else if flag == "--resume" && (inlineValue == "auto" || (inlineValue == nil && arguments.indices.contains(i + 1) && arguments[i + 1] == "auto")) {
                // `--resume auto` (the batch script's spelling, docs/platform.md "Batch jobs") is
                // `--resume`: reuse a journal of the same run when there is one, start fresh otherwise.
                out.append("--resume")
                if inlineValue == nil { i += 1 }
            } else {
                out.append(arguments[i])
            }
            i += 1
        }
        return (out, notes)
    }
}
