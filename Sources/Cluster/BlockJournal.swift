import Checkpoint
import Foundation
import Model
import Tensor

/// The resume journal (issue 5 item 5): `OUT.partial/` beside the output holds, for every block
/// already pruned, `block-NNNNN.safetensors` (its seven pruned linears in float32, exact) and
/// `block-NNNNN.json` (plan hash, file checksum, per-linear counts). The JSON is written last, by
/// rename, so a block counts as finished only when both are complete. Entries are per block, not
/// per rank, so a run may be resumed with a different number of ranks. `--resume` reuses entries
/// whose plan hash and checksum match; a fresh run clears the directory. After a successful run
/// the journal is removed.
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
        var checksum: String
        var outcomes: [Outcome]
        struct Outcome: Codable {
            var name: String
            var plannedSparsity: Double
            var prunedCount: Int
            var rows: Int
            var cols: Int
        }
    }

    private func name(_ block: Int, _ ext: String) -> URL {
        let digits = String(block)
        return directory.appendingPathComponent("block-" + String(repeating: "0", count: max(0, 5 - digits.count)) + digits + "." + ext)
    }

    /// The journaled result of `block`, or nil if it is absent, from another plan, or damaged.
    public func finished(block: Int) -> (weights: [BlockLinear: Matrix], outcomes: [LinearOutcome])? {
        guard let json = try? Data(contentsOf: name(block, "json")),
              let entry = try? JSONDecoder().decode(Entry.self, from: json),
              entry.block == block, entry.planHash == String(planHash, radix: 16),
              let bytes = try? Data(contentsOf: name(block, "safetensors")),
              Self.checksum(bytes) == entry.checksum,
              let file = try? SafetensorsFile(url: name(block, "safetensors")) else { return nil }
        var weights: [BlockLinear: Matrix] = [:]
        for linear in BlockLinear.allCases {
            guard let m = try? file.matrix(linear.weightName(block: block)) else { return nil }
            weights[linear] = m
        }
        let outcomes = entry.outcomes.map {
            LinearOutcome(name: $0.name, plannedSparsity: $0.plannedSparsity, prunedCount: $0.prunedCount, rows: $0.rows, cols: $0.cols)
        }
        return (weights, outcomes)
    }

    public func record(_ block: DecoderBlock, outcomes: [LinearOutcome]) throws {
        let weightsURL = name(block.index, "safetensors")
        let entries = BlockLinear.allCases.map { l in
            let w = block.weight(l)
            return SafetensorsWriter.Entry(name: l.weightName(block: block.index), dtype: .f32, shape: [w.rows, w.cols])
        }
        let writer = try SafetensorsWriter(url: weightsURL, entries: entries)
        for l in BlockLinear.allCases { try writer.write(l.weightName(block: block.index), block.weight(l)) }
        try writer.finish()
        let entry = Entry(block: block.index, planHash: String(planHash, radix: 16),
                          checksum: Self.checksum(try Data(contentsOf: weightsURL)),
                          outcomes: outcomes.map { .init(name: $0.name, plannedSparsity: $0.plannedSparsity,
                                                         prunedCount: $0.prunedCount, rows: $0.rows, cols: $0.cols) })
        try JSONEncoder().encode(entry).write(to: name(block.index, "json"), options: .atomic)
    }

    /// FNV-1a 64 of the block file, as hex.
    static func checksum(_ data: Data) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        data.withUnsafeBytes { raw in
            for b in raw { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        }
        return String(h, radix: 16)
    }
}
