import ArgumentParser
import Foundation

/// `-m/--model`, shared by `prune`, `plan` and `eval`. A wrong kind of path fails in `check()`
/// with what to do instead (issue 13 item 6): owlprune reads local Hugging Face directories only.
/// Optional on the command line because a `prune`/`plan` recipe may give it; `check()` (run by
/// each command after the recipe is merged) requires it.
package struct ModelOptions: ParsableArguments {
    /// Explicit: `ParsableArguments` needs an initializer as visible as the type (the command line's module parses it).
    package init() {}
    @Option(name: [.customShort("m"), .customLong("model")],
            help: ArgumentHelp("Hugging Face checkpoint directory (config.json, tokenizer.json, safetensors).", valueName: "dir"),
            completion: .directory)
    package var givenModel: String?
    package var model: String { givenModel ?? "" }

    /// The line ArgumentParser prints for a missing required option, kept as before.
    package static let missing = "Missing expected argument '--model <dir>'"

    package func check() throws {
        guard givenModel != nil else { throw ValidationError(Self.missing) }
        if let problem = Self.problem(with: model) { throw ValidationError(problem) }
    }

    /// Nil when `path` looks like a checkpoint directory; otherwise one line saying what to do.
    package static func problem(with path: String) -> String? {
        var isDir: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
        if path.lowercased().hasSuffix(".gguf") {
            return "--model \(path): a GGUF file; run `owlprune convert \(path) --out DIR` first, then pass DIR"
        }
        if !exists {
            let parts = path.split(separator: "/", omittingEmptySubsequences: false)
            if parts.count == 2, !path.hasPrefix("."), parts.allSatisfy({ !$0.isEmpty }) {
                return "--model \(path): no such directory; if this is a hub id, download it first (e.g. `huggingface-cli download \(path) --local-dir DIR`); owlprune reads local directories"
            }
            return "--model \(path): no such directory"
        }
        guard isDir.boolValue else {
            return "--model \(path): a file; expected a Hugging Face checkpoint directory holding config.json and model.safetensors (or model.safetensors.index.json and its shards)"
        }
        let config = URL(fileURLWithPath: path).appendingPathComponent("config.json").path
        guard FileManager.default.fileExists(atPath: config) else {
            return "--model \(path): no config.json; expected a Hugging Face checkpoint directory holding config.json, tokenizer.json and model.safetensors (or model.safetensors.index.json and its shards)"
        }
        return nil
    }
}
