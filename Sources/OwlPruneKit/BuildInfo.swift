import Cluster
import Foundation

/// `owlprune --version`: the release and the git commit of the clone the binary was built in.
///
/// The commit is read at run time from the clone that holds the binary (`<clone>/.build/…/owlprune`):
/// its `.git` (a directory, or a worktree's `gitdir:` file), `HEAD`, then the loose ref or
/// `packed-refs`. Nothing is generated at build time, so a clone without git (a tarball, an
/// export) still builds and reports "commit unknown"; a binary copied out of its clone does the
/// same. See docs/recipes.md "Version".
package enum BuildInfo {
    package static let version = PruneReport.toolVersion

    /// The release line, then the BLAS library and kernel set in use (issue 28: the bits of a
    /// result depend on them, docs/platform.md "BLAS kernels: the same bits on every machine").
    package static var versionLine: String {
        "owlprune \(version) (commit \(commit ?? "unknown"))\nBLAS: \(BLASLibrary.current.summary)"
    }

    package static var commit: String? {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        if let exe = Bundle.main.executableURL { dir = exe.resolvingSymlinksInPath().deletingLastPathComponent() }
        while dir.path != "/" {
            if let hash = headCommit(gitPath: dir.appendingPathComponent(".git")) { return hash }
            dir.deleteLastPathComponent()
        }
        return nil
    }

    private static func read(_ url: URL) -> String? {
        (try? String(contentsOf: url, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func headCommit(gitPath: URL) -> String? {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: gitPath.path, isDirectory: &isDir) else { return nil }
        var gitDir = gitPath
        if !isDir.boolValue {  // a worktree: "gitdir: /path/to/main/.git/worktrees/NAME"
            guard let line = read(gitPath), line.hasPrefix("gitdir:") else { return nil }
            let target = line.dropFirst("gitdir:".count).trimmingCharacters(in: .whitespaces)
            gitDir = resolve(target, in: gitPath.deletingLastPathComponent())
        }
        guard let head = read(gitDir.appendingPathComponent("HEAD")) else { return nil }
        guard head.hasPrefix("ref:") else { return short(head) }
        let ref = head.dropFirst("ref:".count).trimmingCharacters(in: .whitespaces)
        // Refs live in the common directory of a worktree's repository.
        let common = read(gitDir.appendingPathComponent("commondir"))
            .map { resolve($0, in: gitDir) } ?? gitDir
        for base in [gitDir, common] {
            if let hash = read(base.appendingPathComponent(ref)) { return short(hash) }
        }
        for line in (read(common.appendingPathComponent("packed-refs")) ?? "").split(separator: "\n")
        where line.hasSuffix(" " + ref) {
            return short(String(line.prefix { $0 != " " }))
        }
        return nil
    }

    private static func resolve(_ path: String, in dir: URL) -> URL {
        path.hasPrefix("/") ? URL(fileURLWithPath: path) : dir.appendingPathComponent(path).standardizedFileURL
    }

    private static func short(_ hash: String) -> String? {
        hash.count >= 12 && hash.allSatisfy(\.isHexDigit) ? String(hash.prefix(12)) : nil
    }
}
