import ArgumentParser
import Checkpoint
import Foundation

/// `OUT.partial/` of a sweep: what survives a killed sweep (issue 14 item 3). Each finished
/// cell is one JSON file written atomically by its group's first rank (a shared filesystem, as
/// for prune's block journal); kept checkpoints wait under `models/` until the sweep completes,
/// unkept ones are written under `scratch/` and removed after their evaluation.
package struct SweepJournal {
    package let directory: URL
    /// The fingerprint of the settings every recorded cell must share (see `Sweep.fingerprint`).
    package let settings: String

    package init(directory: URL, settings: String) {
        self.directory = directory
        self.settings = settings
    }
    package static let settingsFile = "sweep-settings.txt"

    private var cells: URL { directory.appendingPathComponent("cells") }

    /// Rank 0, before any cell runs: a fresh journal, or the interrupted one when resuming.
    package func open(resume: Bool, force: Bool, out: String) throws {
        let fm = FileManager.default
        let marker = directory.appendingPathComponent(Self.settingsFile)
        if fm.fileExists(atPath: directory.path) {
            guard fm.fileExists(atPath: marker.path) else {
                throw ValidationError("\(directory.path) exists but is not an owlprune sweep journal; move it away")
            }
            if resume {
                let recorded = (try? String(contentsOf: marker, encoding: .utf8)) ?? ""
                guard recorded == settings else {
                    throw ValidationError("--resume: \(directory.path) was written with other settings (model, calibration, shared prune flags or evaluation changed); rerun with --force to discard it")
                }
            } else if force {
                try fm.removeItem(at: directory)
            } else {
                throw ValidationError("\(directory.path) holds an interrupted sweep of \(out): reuse its cells with --resume, discard it with --force")
            }
        }
        for sub in [cells, directory.appendingPathComponent("models"), directory.appendingPathComponent("scratch")] {
            try fm.createDirectory(at: sub, withIntermediateDirectories: true)
        }
        try AtomicFile.write(Data(settings.utf8), to: marker)
    }

    package func modelDirectory(_ id: String, kept: Bool) -> URL {
        directory.appendingPathComponent(kept ? "models" : "scratch").appendingPathComponent(id)
    }

    package func record(_ result: SweepCellResult) throws {
        try AtomicFile.write(SweepSummary.encoder().encode(result), to: cells.appendingPathComponent(result.cell.id + ".json"))
    }

    /// Finished cells recorded under the same settings, by cell id.
    package func finishedCells() -> [String: SweepCellResult] {
        let files = (try? FileManager.default.contentsOfDirectory(at: cells, includingPropertiesForKeys: nil)) ?? []
        var out: [String: SweepCellResult] = [:]
        for f in files where f.pathExtension == "json" {
            guard let data = try? Data(contentsOf: f),
                  let r = try? JSONDecoder().decode(SweepCellResult.self, from: data), r.settings == settings else { continue }
            out[r.cell.id] = r
        }
        return out
    }

    package func moveModels(into destination: URL) throws {
        try FileManager.default.moveItem(at: directory.appendingPathComponent("models"), to: destination)
    }

    package func remove() { try? FileManager.default.removeItem(at: directory) }
}
