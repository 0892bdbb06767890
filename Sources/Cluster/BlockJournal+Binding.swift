import Checkpoint
import Diagnostics
import Foundation

/// Binds a resume journal to the run that wrote it (issue 10 item 4). Rank 0 calls `bind` after
/// the checkpoint, configuration and calibration windows are known and before any block is
/// pruned, so a refusal costs seconds, not the statistics pass:
/// - `--resume` reuses the journal only when `run.json` records the same `RunFingerprint`;
///   anything different is refused, naming each changed field (old → new);
/// - a plain run that finds finished blocks refuses too, saying how many and how to reuse
///   (`--resume`) or discard (`--force`) them, so hours of work are never dropped silently;
/// - otherwise the directory is (re)created holding only this run's `run.json`.
/// Entries left after `bind` belong to this run's configuration (each also carries the plan
/// hash, checked again when it is read), so the job may always open the journal for reuse.
extension BlockJournal {
    public static let fingerprintFileName = "run.json"

    /// Returns the progress lines to print (what was reused or discarded).
    public static func bind(directory: URL, fingerprint: RunFingerprint, resume: Bool, force: Bool) throws -> [String] {
        let fm = FileManager.default
        let shown = directory.path
        var notes: [String] = []
        if fm.fileExists(atPath: shown) {
            let entries = (try? fm.contentsOfDirectory(atPath: shown)) ?? []
            let finished = entries.filter { $0.hasPrefix("block-") && $0.hasSuffix(".json") }.count
            let recorded = (try? Data(contentsOf: directory.appendingPathComponent(fingerprintFileName)))
                .flatMap { try? JSONDecoder().decode(RunFingerprint.self, from: $0) }
            if resume {
                guard let recorded else {
                    throw JournalError.unbound(path: shown, finished: finished)
                }
                let changes = fingerprint.changes(since: recorded)
                guard changes.isEmpty else {
                    throw JournalError.changed(path: shown, finished: finished, changes: changes)
                }
                notes.append("resume: \(finished) finished block(s) in \(shown), same settings (fingerprint \(fingerprint.hash))")
                return notes
            }
            if finished > 0 && !force { throw JournalError.found(path: shown, finished: finished) }
            if finished > 0 { notes.append("discarding the journal \(shown) (\(finished) finished block(s)): --force without --resume") }
            do { try fm.removeItem(atPath: shown) } catch { throw CheckpointError.fileSystem(error, path: shown) }
        } else if resume {
            notes.append("resume: no journal at \(shown); starting from the first block")
        }
        do {
            try fm.createDirectory(at: directory, withIntermediateDirectories: true)
            try JSONEncoder().encode(fingerprint).write(to: directory.appendingPathComponent(fingerprintFileName), options: .atomic)
        } catch {
            throw CheckpointError.fileSystem(error, path: shown)
        }
        return notes
    }
}

extension BlockJournal {
    /// What a stopped run tells the user (issue 26 item 1): how many blocks are kept, where, and
    /// the flag that continues from them.
    public static func resumeHint(_ directory: URL) -> String {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        let finished = entries.filter { $0.hasPrefix("block-") && $0.hasSuffix(".json") }.count
        guard finished > 0 else { return "no block had finished, nothing is kept; run the same command again to start over" }
        return "\(finished) finished block(s) are journaled in \(directory.path); run the same command with --resume to continue"
    }

    /// After a failure: a journal holding no finished block (only `run.json`) is worth nothing,
    /// so it goes too and the failed run leaves nothing behind; one with blocks stays for `--resume`.
    public static func removeIfNoBlocks(_ directory: URL) {
        let fm = FileManager.default
        guard let entries = try? fm.contentsOfDirectory(atPath: directory.path),
              !entries.contains(where: { $0.hasPrefix("block-") }) else { return }
        try? fm.removeItem(at: directory)
    }
}

public enum JournalError: Error, LocalizedError {
    case found(path: String, finished: Int)
    case changed(path: String, finished: Int, changes: [String])
    case unbound(path: String, finished: Int)

    public var errorDescription: String? {
        let text = switch self {
        case let .found(p, n):
            "\(p) holds \(n) finished block(s) of an interrupted run; pass --resume to reuse them or --force to discard them"
        case let .changed(p, n, changes):
            "--resume: the journal \(p) (\(n) finished block(s)) was written with different settings: \(changes.joined(separator: "; ")); rerun with the same settings, or without --resume and with --force to discard it"
        case let .unbound(p, n):
            "--resume: the journal \(p) (\(n) finished block(s)) records no settings (\(BlockJournal.fingerprintFileName) missing or damaged), so it cannot be checked against this run; rerun without --resume and with --force to discard it"
        }
        return printableLine(text)
    }
}
