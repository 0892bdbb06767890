import Foundation
import Testing

/// Temporary directories and the location of the real model files for Checkpoint tests.
enum TestFiles {
    /// A fresh empty directory under the system temp dir; the caller removes it with `defer`.
    static func makeTemporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("owlprune-checkpoint-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func remove(_ url: URL) {
        try? FileManager.default.removeItem(at: url)
    }

    /// The repository root: two levels above this file, symlinks resolved so a dev package that
    /// links `Tests/CheckpointTests` still finds the real repository.
    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// `<repo>/models`, or `$OWLPRUNE_MODELS` when set.
    static var modelsDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["OWLPRUNE_MODELS"], !dir.isEmpty {
            return URL(fileURLWithPath: dir)
        }
        return repositoryRoot.appendingPathComponent("models")
    }

    /// The SmolLM2 GGUF; records a failure (never a skip) when it is missing.
    static func smolLM2GGUF() throws -> URL {
        let url = modelsDirectory.appendingPathComponent("SmolLM2-135M-Instruct.Q4_1.gguf")
        try #require(FileManager.default.fileExists(atPath: url.path),
                     "\(url.path) is missing: run deploy/setup to download the SmolLM2 model")
        return url
    }
}
