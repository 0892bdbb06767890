import Checkpoint
import Diagnostics
import Foundation

/// Binds a resume journal to the run that wrote it (issue 10 item 4), the one rule both journals
/// follow: the prune's block journal (`OUT.partial/`) and LLM-Streamline's training journal
/// (`OUT.streamline-training/`). Rank 0 binds after the checkpoint, settings and calibration
/// windows are known and before any work, so a refusal costs seconds:
/// - `--resume` reuses the journal only when its `run.json` records the same `RunFingerprint`;
///   anything different is refused, naming each changed field (old → new);
/// - a plain run that finds finished work refuses too, saying what and how to reuse (`--resume`)
///   or discard (`--force`) it, so hours of work are never dropped silently;
/// - otherwise the directory is (re)created holding only this run's `run.json`.
public struct JournalBinding: Sendable {
    public static let fingerprintFileName = "run.json"

    /// How messages name the journal: "journal", "training journal".
    public let kind: String
    /// What a `--resume` that finds no journal does: "starting from the first block".
    public let freshStart: String
    /// The finished work a journal directory holds, in words ("3 finished block(s)", "training
    /// step 4"); nil when it holds none.
    public let finishedWork: @Sendable (URL) -> String?

    public init(kind: String, freshStart: String, finishedWork: @escaping @Sendable (URL) -> String?) {
        self.kind = kind
        self.freshStart = freshStart
        self.finishedWork = finishedWork
    }

    /// Returns the progress lines to print (what was reused or discarded).
    public func bind(directory: URL, fingerprint: RunFingerprint, resume: Bool, force: Bool) throws -> [String] {
        let fm = FileManager.default
        let shown = directory.path
        var notes: [String] = []
        if fm.fileExists(atPath: shown) {
            let work = finishedWork(directory)
            let recorded = (try? Data(contentsOf: directory.appendingPathComponent(Self.fingerprintFileName)))
                .flatMap { try? JSONDecoder().decode(RunFingerprint.self, from: $0) }
            if resume {
                guard let recorded else { throw JournalError.unbound(kind: kind, path: shown, work: work) }
                let changes = fingerprint.changes(since: recorded)
                guard changes.isEmpty else {
                    throw JournalError.changed(kind: kind, path: shown, work: work, changes: changes)
                }
                notes.append("resume: \(work ?? "nothing finished") in \(shown), same settings (fingerprint \(fingerprint.hash))")
                return notes
            }
            if let work, !force { throw JournalError.found(path: shown, work: work) }
            if let work { notes.append("discarding the \(kind) \(shown) (\(work)): --force without --resume") }
            do { try fm.removeItem(atPath: shown) } catch { throw CheckpointError.fileSystem(error, path: shown) }
        } else if resume {
            notes.append("resume: no \(kind) at \(shown); \(freshStart)")
        }
        do {
            try fm.createDirectory(at: directory, withIntermediateDirectories: true)
            try JSONEncoder().encode(fingerprint).write(to: directory.appendingPathComponent(Self.fingerprintFileName), options: .atomic)
        } catch {
            throw CheckpointError.fileSystem(error, path: shown)
        }
        return notes
    }

    /// What a stopped run tells the user (issue 26 item 1): what is kept, where, and the flag that
    /// continues from it.
    public func resumeHint(_ directory: URL) -> String {
        guard let work = finishedWork(directory) else {
            return "nothing had finished, nothing is kept; run the same command again to start over"
        }
        return "\(work) kept in \(directory.path); run the same command with --resume to continue"
    }

    /// After a failure: a journal holding no finished work (only `run.json`) is worth nothing, so
    /// it goes too and the failed run leaves nothing behind; one with work stays for `--resume`.
    public func removeIfNothingFinished(_ directory: URL) {
        guard FileManager.default.fileExists(atPath: directory.path), finishedWork(directory) == nil else { return }
        try? FileManager.default.removeItem(at: directory)
    }
}

public enum JournalError: Error, LocalizedError {
    case found(path: String, work: String)
    case changed(kind: String, path: String, work: String?, changes: [String])
    case unbound(kind: String, path: String, work: String?)

    public var errorDescription: String? {
        let text = switch self {
        case let .found(p, work):
            "\(p) holds \(work) of an interrupted run; pass --resume to continue from it or --force to discard it"
        case let .changed(kind, p, work, changes):
            "--resume: the \(kind) \(p) (\(work ?? "nothing finished")) was written with different settings: \(changes.joined(separator: "; ")); rerun with the same settings, or without --resume and with --force to discard it"
        case let .unbound(kind, p, work):
            "--resume: the \(kind) \(p) (\(work ?? "nothing finished")) records no settings (\(JournalBinding.fingerprintFileName) missing or damaged), so it cannot be checked against this run; rerun without --resume and with --force to discard it"
        }
        return printableLine(text)
    }
}
