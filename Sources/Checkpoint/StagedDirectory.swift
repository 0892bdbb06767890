import Foundation

/// An output directory that appears only when complete: everything is written into
/// `OUT.tmp-<runid>/` beside the destination and renamed to `OUT/` in one step at the end
/// (docs/design.md §3 "Output"). On failure the staging directory is removed, so no half-written
/// checkpoint is ever visible under the requested name.
public struct StagedDirectory: Sendable {
    public let destination: URL
    public let staging: URL

    /// - Parameters:
    ///   - force: replace an existing destination (only at `commit()`, after success).
    ///   - runID: shared by every rank of a job so they all write into the same staging directory.
    public init(destination: URL, force: Bool, runID: String) throws {
        self.destination = destination.standardizedFileURL
        self.staging = URL(fileURLWithPath: self.destination.path + ".tmp-" + runID)
        let fm = FileManager.default
        if fm.fileExists(atPath: self.destination.path) && !force {
            throw OutputDirectoryError.exists(path: self.destination.path)
        }
        let parent = self.destination.deletingLastPathComponent()
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: parent.path, isDirectory: &isDir), isDir.boolValue else {
            throw OutputDirectoryError.parentMissing(path: parent.path)
        }
    }

    /// Creates the staging directory (idempotent, so every rank may call it).
    public func create() throws {
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
    }

    public func file(_ name: String) -> URL { staging.appendingPathComponent(name) }

    /// Replaces the destination with the staging directory.
    public func commit() throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: destination.path) {
            try fm.removeItem(at: destination)
        }
        try fm.moveItem(at: staging, to: destination)
    }

    /// Removes the staging directory after a failure (best effort: the error being reported matters more).
    public func discard() {
        try? FileManager.default.removeItem(at: staging)
    }
}

public enum OutputDirectoryError: Error, LocalizedError {
    case exists(path: String)
    case parentMissing(path: String)

    public var errorDescription: String? {
        switch self {
        case let .exists(p): "--out \(p) already exists; pass --force to replace it"
        case let .parentMissing(p): "--out: parent directory \(p) does not exist"
        }
    }
}
