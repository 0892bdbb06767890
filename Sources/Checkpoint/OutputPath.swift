import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where an output may go (issue 10 item 3): never onto, into or around an input (the model, a
/// calibration or eval file), and never onto the working directory or one containing it
/// (`--out .`). Paths are compared after resolving symbolic links in the parent, so a symlinked
/// parent cannot hide that the output sits inside an input.
public enum OutputPath {
    /// Checks `destination` against `inputs` (with the flag that named each) and returns its real
    /// path: the parent resolved, the last component as given.
    @discardableResult
    public static func check(_ destination: URL, inputs: [(flag: String, url: URL)]) throws -> URL {
        let given = destination.standardizedFileURL
        let parent = given.deletingLastPathComponent()
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: parent.path, isDirectory: &isDir), isDir.boolValue else {
            throw OutputDirectoryError.parentMissing(path: parent.path)
        }
        let resolved = URL(fileURLWithPath: realPath(parent.path) ?? parent.path).appendingPathComponent(given.lastPathComponent)
        let out = resolved.path
        // Issue 26 item 2: an output replaces only files and directories. A rename onto a device
        // node, FIFO or socket would delete the node (as root, `/dev/null`), so these are refused
        // whatever --force says.
        var info = stat()
        if lstat(out, &info) == 0, let kind = specialKind(info.st_mode) {
            throw OutputDirectoryError.notReplaceable(path: given.path, reason: "is \(kind), not a regular file or directory")
        }
        let cwd = realPath(FileManager.default.currentDirectoryPath) ?? FileManager.default.currentDirectoryPath
        if cwd == out || cwd.hasPrefix(out + "/") {
            throw OutputDirectoryError.containsWorkingDirectory(path: given.path)
        }
        for (flag, url) in inputs {
            guard let input = realPath(url.path) else { continue }
            let relation = input == out ? "is the same path as" : input.hasPrefix(out + "/") ? "contains"
                : out.hasPrefix(input + "/") ? "is inside" : nil
            if let relation {
                throw OutputDirectoryError.overlapsInput(path: given.path, relation: relation, flag: flag, input: url.path)
            }
        }
        return resolved
    }
}

/// realpath(3), nil when the path does not exist.
func realPath(_ path: String) -> String? {
    guard let p = realpath(path, nil) else { return nil }
    defer { free(p) }
    return String(cString: p)
}

/// "a character device", "a FIFO", … for the file kinds an output never replaces; nil for
/// regular files, directories and symbolic links (handled by each writer).
func specialKind(_ mode: mode_t) -> String? {
    switch mode & S_IFMT {
    case S_IFCHR: "a character device"
    case S_IFBLK: "a block device"
    case S_IFIFO: "a FIFO"
    case S_IFSOCK: "a socket"
    default: nil
    }
}
