import Checkpoint
import Foundation
import Model
import Pruning
import Tensor

/// The resume journal (issue 5 item 5): `OUT.partial/` beside the output holds, for every block
/// already pruned, its seven pruned linears in one or more part files
/// `block-NNNNN.part-K.safetensors`, and the marker `block-NNNNN.json` (plan hash, where each
/// linear is, how it is stored and its checksum, per-linear counts).
///
/// A linear whose pruned weight is the dense one with entries set to +0 (Wanda, magnitude, RIA,
/// DSnoT, DaSS: the caller checks it bit for bit, `PruningMask.isZeroing`) is stored as its +0
/// positions, 1 bit per weight (`zeroBits`, a U8 tensor), and rebuilt at resume from the dense
/// block every resume path loads anyway; any other (SparseGPT, ADMM) as float32 values. Why: the
/// journal was a second full float32 copy of the pruned model written beside the output (26 GB
/// extra for llama-7b); as bits it is 1/32 of that, and a one-rank SmolLM2 prune spent 0.3–0.9 s
/// writing it. The marker is written last, by rename, once
/// every part is complete, so a block counts as finished only with all its parts. One rank
/// holding the block writes one part; in the windows split every rank writes the linears
/// `WriteAssignment` deals it (part K from rank K), so no rank waits for another's I/O. The marker
/// names the files, so a run may be resumed with a different number of ranks. `--resume` reuses
/// entries whose plan hash and checksums match; a fresh run clears the directory. After a
/// successful run the journal is removed.
///
/// Parts are not fsynced: a process killed (OOM, lost rank) leaves them in the page cache, and
/// what a machine crash loses shows up as a checksum mismatch, and the block is pruned again.
/// Checksums are over the float32 values in memory, so writing does not read the file back.
public struct BlockJournal: Sendable {
    public let directory: URL
    public let planHash: UInt64

    public static func directory(forOutput out: URL) -> URL {
        URL(fileURLWithPath: out.standardizedFileURL.path + ".partial")
    }

    public init(directory: URL, planHash: UInt64) {
        self.directory = directory
        self.planHash = planHash
    }

    struct Entry: Codable {
        var block: Int
        var planHash: String
        var tensors: [Stored]
        var outcomes: [Outcome]
        struct Stored: Codable {
            var name: String
            var file: String
            var encoding: Encoding
            /// Of the pruned float32 weight (for `zeroBits`, of the rebuilt one).
            var checksum: String
        }
        enum Encoding: String, Codable {
            case values, zeroBits
        }
        struct Outcome: Codable {
            var name: String
            var plannedSparsity: Double
            var prunedCount: Int
            var rows: Int
            var cols: Int
        }
    }

    private func stem(_ block: Int) -> String {
        let digits = String(block)
        return "block-" + String(repeating: "0", count: max(0, 5 - digits.count)) + digits
    }

    private func markerURL(_ block: Int) -> URL { directory.appendingPathComponent(stem(block) + ".json") }

    /// Whether the directory holds any block's marker (not yet checked against plan or checksums).
    public var hasBlockMarkers: Bool {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.contains { $0.hasPrefix("block-") && $0.hasSuffix(".json") }
    }

    /// The file name of block `block`'s part `part`.
    public func partFileName(block: Int, part: Int) -> String { stem(block) + ".part-\(part).safetensors" }

    /// The journaled result of `block`, or nil if it is absent, from another plan, or damaged.
    /// - Parameter dense: the block as loaded from the input (linears stored as `zeroBits` are
    ///   rebuilt from it; the checksum then also proves the input is the one that was pruned).
    public func finished(block: Int, dense: DecoderBlock) -> (weights: [BlockLinear: Matrix], outcomes: [LinearOutcome])? {
        guard let json = try? Data(contentsOf: markerURL(block)),
              let entry = try? JSONDecoder().decode(Entry.self, from: json),
              entry.block == block, entry.planHash == String(planHash, radix: 16) else { return nil }
        var files: [String: SafetensorsFile] = [:]
        var weights: [BlockLinear: Matrix] = [:]
        for linear in BlockLinear.allCases {
            let name = linear.weightName(block: block)
            guard let stored = entry.tensors.first(where: { $0.name == name }), !stored.file.contains("/") else { return nil }
            if files[stored.file] == nil {
                guard let opened = try? SafetensorsFile(url: directory.appendingPathComponent(stored.file)) else { return nil }
                files[stored.file] = opened
            }
            guard let m = rebuilt(linear, stored, from: files[stored.file]!, dense: dense),
                  String(Self.checksum(m), radix: 16) == stored.checksum else { return nil }
            weights[linear] = m
        }
        let outcomes = entry.outcomes.map {
            LinearOutcome(name: $0.name, plannedSparsity: $0.plannedSparsity, prunedCount: $0.prunedCount, rows: $0.rows, cols: $0.cols)
        }
        return (weights, outcomes)
    }

    private func rebuilt(_ linear: BlockLinear, _ stored: Entry.Stored, from file: SafetensorsFile, dense: DecoderBlock) -> Matrix? {
        switch stored.encoding {
        case .values:
            return try? file.matrix(stored.name)
        case .zeroBits:
            var w = dense.weight(linear)
            guard let info = file.info(stored.name), info.dtype == .u8, info.shape == [(w.count + 7) / 8],
                  let bits = try? file.data(stored.name) else { return nil }
            PruningMask.zero(&w, packedBits: [UInt8](bits))
            return w
        }
    }

    /// Writes `linears` of `block` as part `part` — those in `zeroing` as their +0 positions
    /// (each must be the dense weight with entries set to +0) — and returns their checksums, in
    /// `linears` order.
    public func recordPart(_ block: DecoderBlock, linears: [BlockLinear], part: Int, zeroing: Set<BlockLinear>,
                           threads: Int = 1) throws -> [UInt64] {
        guard !linears.isEmpty else { return [] }
        // The checksums and the zeroing linears' packed positions, one linear per task on up to
        // `threads` threads (a serial FNV chain over every weight: 0.3 s a llama-7b-shaped block).
        let weights = linears.map { block.weight($0) }, packs = linears.map { zeroing.contains($0) }
        let digests = Parallel.map(linears.count, workers: threads) { i in
            (Self.checksum(weights[i]), packs[i] ? PruningMask.packedZeros(of: weights[i]) : [])
        }
        let entries = linears.map { l in
            let w = block.weight(l), name = l.weightName(block: block.index)
            if zeroing.contains(l) { return SafetensorsWriter.Entry(name: name, dtype: .u8, shape: [(w.count + 7) / 8]) }
            return SafetensorsWriter.Entry(name: name, dtype: .f32, shape: [w.rows, w.cols])
        }
        let writer = try SafetensorsWriter(url: directory.appendingPathComponent(partFileName(block: block.index, part: part)),
                                           entries: entries, durable: false)
        for (i, l) in linears.enumerated() {
            let name = l.weightName(block: block.index)
            if packs[i] {
                try digests[i].1.withUnsafeBytes { try writer.write(name, rawBuffer: $0) }
            } else {
                try writer.write(name, weights[i])
            }
        }
        try writer.finish()
        return digests.map(\.0)
    }

    /// Marks `block` finished: `parts[l]` is the part holding linear l, `checksums[l]` its
    /// checksum, `zeroing` the linears stored as +0 positions.
    public func commit(block: Int, parts: [BlockLinear: Int], checksums: [BlockLinear: UInt64], zeroing: Set<BlockLinear>,
                       outcomes: [LinearOutcome]) throws {
        let tensors = BlockLinear.allCases.map { l in
            Entry.Stored(name: l.weightName(block: block), file: partFileName(block: block, part: parts[l]!),
                         encoding: zeroing.contains(l) ? .zeroBits : .values, checksum: String(checksums[l]!, radix: 16))
        }
        let entry = Entry(block: block, planHash: String(planHash, radix: 16), tensors: tensors,
                          outcomes: outcomes.map { .init(name: $0.name, plannedSparsity: $0.plannedSparsity,
                                                         prunedCount: $0.prunedCount, rows: $0.rows, cols: $0.cols) })
        try JSONEncoder().encode(entry).write(to: markerURL(block), options: .atomic)
    }

    /// One process holding the whole block: one part, then the marker.
    public func record(_ block: DecoderBlock, zeroing: Set<BlockLinear>, outcomes: [LinearOutcome], threads: Int = 1) throws {
        let linears = BlockLinear.allCases
        let sums = try recordPart(block, linears: linears, part: 0, zeroing: zeroing, threads: threads)
        try commit(block: block.index, parts: Dictionary(uniqueKeysWithValues: linears.map { ($0, 0) }),
                   checksums: Dictionary(uniqueKeysWithValues: zip(linears, sums)), zeroing: zeroing, outcomes: outcomes)
    }

    /// FNV-1a 64 over the shape and the float32 bit patterns (one step per element, not per byte).
    static func checksum(_ m: Matrix) -> UInt64 {
        var h = FNV1a()
        h.combine(word: UInt64(m.rows))
        h.combine(word: UInt64(m.cols))
        m.elements.withUnsafeBufferPointer { values in
            for x in values { h.combine(word: UInt64(x.bitPattern)) }
        }
        return h.value
    }
}
