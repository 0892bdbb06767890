import Diagnostics
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An output directory that appears only when complete: everything is written into
/// `OUT.tmp-<runid>/` beside the destination and renamed to `OUT/` in one step at the end
/// (docs/design.md §3 "Output"). On failure the staging directory is removed, so no half-written
/// checkpoint is ever visible under the requested name.
///
/// It also keeps a run from destroying anything it did not write (issue 10 item 3):
/// - `--out` may not be, contain or lie inside an input (model, calibration or eval file) or
///   contain the working directory (`--out .`);
/// - an existing destination is replaced (`--force`) only when owlprune wrote it, i.e. it holds
///   `owlprune-report.json` or the marker `.owlprune-output`, or it is empty;
/// - the destination is locked for the run (`OutputLock`), and the rename never replaces a
///   directory that appeared after the checks: POSIX `rename` cannot replace a non-empty
///   directory, and the destination is checked again (by inode) right before.
public struct StagedDirectory: Sendable {
    /// Written into every staging directory, so convert and synth outputs (which have no report)
    /// are recognisable as owlprune's own.
    public static let markerFileName = ".owlprune-output"
    public static let reportFileName = "owlprune-report.json"

    public let destination: URL
    public let staging: URL
    private let lock: OutputLock?
    /// The existing destination this run has checked and may replace (dev, inode), if any.
    private let replaceable: FileIdentity?
    private let state = CommitState()
    private let lockPath: String
    private let runID: String

    /// - Parameters:
    ///   - force: replace an existing destination (only at `commit()`, after success).
    ///   - runID: shared by every rank of a job so they all write into the same staging directory.
    ///   - inputs: the files the run reads, with the flag that named them, for the overlap checks.
    ///   - lock: take the output lock; in a multi-rank job only rank 0 does (the lock is per host).
    public init(destination: URL, force: Bool, runID: String, inputs: [(flag: String, url: URL)] = [],
                lock: Bool = true) throws {
        let given = destination.standardizedFileURL
        let resolved = try OutputPath.check(given, inputs: inputs)
        self.destination = given
        self.staging = URL(fileURLWithPath: given.path + ".tmp-" + runID)
        let out = resolved.path
        self.lockPath = OutputLock.path(beside: resolved)
        self.runID = runID
        // From here on there is something to clean up: a signal waits for a safe point.
        StopSignal.deferToSafePoints()

        if lock {
            guard let held = try OutputLock(beside: resolved, owner: runID) else {
                throw OutputDirectoryError.locked(path: given.path)
            }
            self.lock = held
        } else {
            self.lock = nil
        }
        do {
            replaceable = try Self.checkExisting(out, shownAs: given.path, force: force)
        } catch {
            self.lock?.release()
            throw error
        }
    }

    /// nil when the destination does not exist; its identity when it may be replaced; throws otherwise.
    private static func checkExisting(_ path: String, shownAs shown: String, force: Bool) throws -> FileIdentity? {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return nil }
            throw CheckpointError.system(call: "lstat", path: shown, errno: errno)
        }
        let kind = info.st_mode & S_IFMT
        guard kind != S_IFLNK else { throw OutputDirectoryError.notReplaceable(path: shown, reason: "is a symbolic link") }
        guard kind == S_IFDIR else { throw OutputDirectoryError.notReplaceable(path: shown, reason: "is a file, not a directory") }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        if !entries.isEmpty && !entries.contains(markerFileName) && !entries.contains(reportFileName) {
            throw OutputDirectoryError.foreign(path: shown)
        }
        guard force else { throw OutputDirectoryError.exists(path: shown) }
        return FileIdentity(info)
    }

    /// Creates the staging directory with its marker; one rank of a job calls it.
    ///
    /// `mkdir` without intermediate directories fails if anything (a directory, a planted
    /// symbolic link) already has the name, so the run never writes into a directory it did not
    /// make (issue 26 item 2); the run id is random, so the name cannot be guessed ahead. The
    /// marker names the run id: only directories whose marker names their own suffix are ever
    /// removed as stale staging (`removeStaleStaging`).
    public func create() throws {
        guard mkdir(staging.path, 0o755) == 0 else {
            if errno == EEXIST {
                throw OutputDirectoryError.notReplaceable(path: staging.path, reason: "already exists (this run did not create it)")
            }
            throw CheckpointError.system(call: "mkdir", path: staging.path, errno: errno)
        }
        let marker = file(Self.markerFileName).path
        let fd = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CheckpointError.system(call: "open", path: marker, errno: errno) }
        defer { close(fd) }
        try Data(Self.markerText(runID: runID).utf8).withUnsafeBytes { try FileDescriptorWrite.all(fd, $0, path: marker) }
    }

    /// The marker of a finished output (the text every earlier version wrote).
    static let finishedMarkerText = "written by owlprune; `--force` may replace this directory\n"

    /// The marker's text: a staging directory `OUT.tmp-<id>` is owlprune's only if it says `run <id>`.
    static func markerText(runID: String) -> String {
        "written by owlprune run \(runID); `--force` may replace this directory\n"
    }

    /// A new run id: 64 random bits as 16 hex digits (unpredictable, so no staging name can be
    /// planted ahead of a run).
    public static func newRunID() -> String {
        var generator = SystemRandomNumberGenerator()
        let text = String(generator.next() as UInt64, radix: 16)
        return String(repeating: "0", count: 16 - text.count) + text
    }

    public func file(_ name: String) -> URL { staging.appendingPathComponent(name) }

    /// Renames the staging directory to the destination, replacing only the directory checked at
    /// init. If anything else now sits at the destination, the result stays in the staging
    /// directory (nothing is lost either way) and the error says where.
    public func commit() throws {
        defer { lock?.release() }
        // The finished output's marker carries no run id, so the same command writes the same
        // bytes every time (the id only matters while the directory is staging).
        try? Data(Self.finishedMarkerText.utf8).write(to: file(Self.markerFileName))
        var info = stat()
        let exists = lstat(destination.path, &info) == 0
        if exists {
            guard let replaceable, FileIdentity(info) == replaceable else {
                state.keep()
                throw OutputDirectoryError.appeared(path: destination.path, staging: staging.path)
            }
            let old = destination.path + ".old-" + staging.lastPathComponent
            guard rename(destination.path, old) == 0 else {
                throw CheckpointError.system(call: "rename", path: destination.path, errno: errno)
            }
            guard rename(staging.path, destination.path) == 0 else {
                let code = errno
                _ = rename(old, destination.path)
                throw CheckpointError.system(call: "rename", path: staging.path, errno: code)
            }
            try? FileManager.default.removeItem(atPath: old)
        } else if rename(staging.path, destination.path) != 0 {
            let code = errno
            if code == EEXIST || code == ENOTEMPTY || code == ENOTDIR {
                state.keep()
                throw OutputDirectoryError.appeared(path: destination.path, staging: staging.path)
            }
            throw CheckpointError.system(call: "rename", path: staging.path, errno: code)
        }
    }

    /// Removes the staging directory after a failure (best effort: the error being reported
    /// matters more), unless `commit` left the result there on purpose, and drops the lock.
    public func discard() {
        if !state.kept { try? FileManager.default.removeItem(at: staging) }
        if let lock { lock.release() } else { OutputLock.removeIfOwned(lockPath, owner: runID) }
    }
}

/// Which file a path named when it was checked (st_dev, st_ino).
private struct FileIdentity: Equatable, Sendable {
    let device: UInt64
    let inode: UInt64
    init(_ s: stat) {
        device = UInt64(s.st_dev)
        inode = UInt64(s.st_ino)
    }
}

/// Set once `commit` decides the staging directory must survive.
private final class CommitState: @unchecked Sendable {
    private let mutex = NSLock()
    private var flag = false
    func keep() { mutex.withLock { flag = true } }
    var kept: Bool { mutex.withLock { flag } }
}

public enum OutputDirectoryError: Error, LocalizedError {
    case exists(path: String)
    case parentMissing(path: String)
    case containsWorkingDirectory(path: String)
    case overlapsInput(path: String, relation: String, flag: String, input: String)
    case notReplaceable(path: String, reason: String)
    case foreign(path: String)
    case locked(path: String)
    case appeared(path: String, staging: String)

    public var errorDescription: String? {
        let text = switch self {
        case let .exists(p): "--out \(p) already exists; pass --force to replace it"
        case let .parentMissing(p): "--out: parent directory \(p) does not exist"
        case let .containsWorkingDirectory(p):
            "--out \(p) is or contains the current directory; choose a new directory for the output"
        case let .overlapsInput(p, relation, flag, input):
            "--out \(p) \(relation) \(flag) \(input); choose an output outside the inputs"
        case let .notReplaceable(p, reason): "--out \(p) \(reason); refusing to replace it"
        case let .foreign(p):
            "--out \(p) is a non-empty directory owlprune did not write (no \(StagedDirectory.reportFileName) or \(StagedDirectory.markerFileName)); refusing to replace it, even with --force"
        case let .locked(p): "--out \(p) is in use by another owlprune run (its lock is held); wait for it to finish or choose another --out"
        case let .appeared(p, s): "--out \(p) was created by someone else while this run was writing; the result is kept in \(s)"
        }
        return printableLine(text)
    }
}
