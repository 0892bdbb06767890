import Foundation

/// Where tests find the project's data. The model comes from `deploy/setup` (git-ignored
/// `models/`), the reference vectors from `Tests/Fixtures/` (committed, see its README), and
/// WikiText from `data/`. Nothing here looks outside the clone.
public enum RepoPaths {
    public static let root: URL = {
        // Sources/TestSupport/RepoPaths.swift → repository root.
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }()

    public static var models: URL {
        if let dir = ProcessInfo.processInfo.environment["OWLPRUNE_MODELS"] { return URL(fileURLWithPath: dir) }
        return root.appendingPathComponent("models")
    }

    public static var smolGGUF: URL { models.appendingPathComponent("SmolLM2-135M-Instruct.Q4_1.gguf") }
    /// The converted Hugging Face directory that `deploy/setup` writes with `owlprune convert`.
    public static var smolHF: URL { models.appendingPathComponent("smollm2-135m") }
    public static var wikitext: URL { root.appendingPathComponent("data/wikitext-2") }
    /// SmolLM2 token ids of both WikiText files and the reference values (Tests/Fixtures/smollm2/README.md).
    public static var smolFixtures: URL { root.appendingPathComponent("Tests/Fixtures/smollm2") }

    /// Fails loudly, naming the command that creates the file, instead of skipping: a test that
    /// quietly skips in CI proves nothing.
    public static func require(_ url: URL) throws -> URL {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw MissingFixture(path: url.path)
        }
        return url
    }
}

public struct MissingFixture: Error, CustomStringConvertible {
    public let path: String
    public var description: String { "\(path) is missing: run deploy/setup first" }
}
