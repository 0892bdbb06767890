import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A killed run (kill -9, OOM, a lost node) cannot remove its staging directory, so the next run
/// on the same `--out` does (issue 10 item 4). It holds the output lock by then, so no live run
/// is writing into any `OUT.tmp-*`. Only directories that owlprune started (they carry the
/// marker, and the marker names the directory's own run id, so a user's `OUT.tmp-mine` or a
/// copied marker is left alone) and that never completed (no report) are removed; a complete result kept in staging on
/// purpose (`OutputDirectoryError.appeared`) has its report and stays.
extension StagedDirectory {
    /// Removes stale `OUT.tmp-*` siblings and returns one progress line per directory removed.
    public func removeStaleStaging() -> [String] {
        let fm = FileManager.default
        let parent = destination.deletingLastPathComponent()
        let prefix = destination.lastPathComponent + ".tmp-"
        guard let names = try? fm.contentsOfDirectory(atPath: parent.path) else { return [] }
        var removed: [String] = []
        for name in names.sorted() where name.hasPrefix(prefix) && name != staging.lastPathComponent {
            let dir = parent.appendingPathComponent(name)
            var isDir: ObjCBool = false
            let suffix = String(name.dropFirst(prefix.count))
            let marker = fm.contents(atPath: dir.appendingPathComponent(Self.markerFileName).path).map { String(decoding: $0, as: UTF8.self) }
            guard fm.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue,
                  !isSymbolicLink(dir.path), marker == Self.markerText(runID: suffix),
                  !fm.fileExists(atPath: dir.appendingPathComponent(Self.reportFileName).path) else { continue }
            if (try? fm.removeItem(at: dir)) != nil {
                removed.append("removed \(dir.path): staging directory of an interrupted run")
            }
        }
        return removed
    }
}

private func isSymbolicLink(_ path: String) -> Bool {
    var info = stat()
    return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFLNK
}
