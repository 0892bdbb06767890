import Foundation

extension BlockJournal {
    /// The block journal's binding to its run (`JournalBinding`): its finished work is the blocks
    /// whose marker is there (each entry also carries the plan hash, checked again when read), so
    /// entries left after binding belong to this run and the job may always open it for reuse.
    public static let binding = JournalBinding(kind: "journal", freshStart: "starting from the first block") { directory in
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        let finished = entries.filter { $0.hasPrefix("block-") && $0.hasSuffix(".json") }.count
        return finished > 0 ? "\(finished) finished block(s)" : nil
    }
}
