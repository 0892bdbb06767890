import Checkpoint
@testable import Cluster
import Foundation
import Model
import Pruning
import Tensor
import Testing

/// The resume journal without MPI: parts written as three ranks would, read back exactly, and
/// every way an entry can be wrong makes it count as unfinished (the block is pruned again).
@Suite struct BlockJournalTests {
    let shape = BlockShape(hiddenSize: 8, intermediateSize: 12, heads: 2, kvHeads: 1, headDim: 4, rmsNormEpsilon: 1e-5)

    func dense(seed: UInt64) -> DecoderBlock {
        var state = seed
        func next() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 997
        }
        var weights: [BlockLinear: Matrix] = [:]
        for l in BlockLinear.allCases {
            let s = shape.weightShape(l)
            var m = Matrix(rows: s.rows, cols: s.cols, elements: (0..<(s.rows * s.cols)).map { _ in next() })
            m.elements[1] = 0       // a weight that is +0 before pruning and stays
            m.elements[2] = -0.0    // and a −0 that is kept: not a +0 position
            weights[l] = m
        }
        return DecoderBlock(index: 3, shape: shape, weights: weights, inputNorm: Array(repeating: 1, count: 8),
                            postAttentionNorm: Array(repeating: 1, count: 8))
    }

    /// Wanda-like linears zero every third weight; o_proj and down_proj are "updated" as SparseGPT
    /// would (values change), so they must be stored as values.
    func pruned(_ block: DecoderBlock) -> (DecoderBlock, Set<BlockLinear>) {
        var out = block
        var zeroing: Set<BlockLinear> = []
        for l in BlockLinear.allCases {
            var m = block.weight(l)
            for i in stride(from: 0, to: m.count, by: 3) where i != 2 { m.elements[i] = 0 }
            if l == .o || l == .down { m.elements[4] += 0.5 } else { zeroing.insert(l) }
            out.weights[l] = m
        }
        return (out, zeroing)
    }

    func outcomes(_ block: DecoderBlock) -> [LinearOutcome] {
        BlockLinear.allCases.map { l in
            let w = block.weight(l)
            return LinearOutcome(name: l.weightName(block: block.index), plannedSparsity: 0.3, prunedCount: w.count / 3,
                                 rows: w.rows, cols: w.cols)
        }
    }

    func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("journal-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// The part's checksums and packed positions are computed one linear per task: any thread
    /// count writes the same part file and returns the same checksums.
    @Test func aPartIsTheSameForAnyThreadCount() throws {
        let (block, zeroing) = pruned(dense(seed: 11))
        let linears = BlockLinear.allCases
        var files: [Data] = [], sums: [[UInt64]] = []
        for threads in [1, 2, 3] {
            let journal = BlockJournal(directory: try scratch(), planHash: 0xABC)
            sums.append(try journal.recordPart(block, linears: linears, part: 0, zeroing: zeroing, threads: threads))
            files.append(try Data(contentsOf: journal.directory.appendingPathComponent(journal.partFileName(block: 3, part: 0))))
        }
        #expect(Set(files).count == 1 && sums.allSatisfy { $0 == sums[0] })
        #expect(sums[0] == linears.map { BlockJournal.checksum(block.weight($0)) })
        // Control: one changed weight changes that linear's checksum.
        var other = block
        other.weights[.up]!.elements[5] += 1
        let journal = BlockJournal(directory: try scratch(), planHash: 0xABC)
        let changed = try journal.recordPart(other, linears: linears, part: 0, zeroing: zeroing, threads: 2)
        #expect(changed[linears.firstIndex(of: .up)!] != sums[0][linears.firstIndex(of: .up)!])
    }

    /// Writes block 3 as three ranks of the windows split do: each its dealt linears, then the marker.
    func writeSpread(_ journal: BlockJournal, _ block: DecoderBlock, zeroing: Set<BlockLinear>) throws {
        let deal = WriteAssignment(shape: shape, ranks: 3)
        var sums: [BlockLinear: UInt64] = [:]
        for rank in 0..<3 {
            let mine = deal.linears(of: rank)
            for (l, sum) in zip(mine, try journal.recordPart(block, linears: mine, part: rank, zeroing: zeroing)) { sums[l] = sum }
        }
        try journal.commit(block: block.index, parts: Dictionary(uniqueKeysWithValues: BlockLinear.allCases.map { ($0, deal.rank(of: $0)) }),
                           checksums: sums, zeroing: zeroing, outcomes: outcomes(block))
    }

    func bits(_ m: Matrix) -> [UInt32] { m.elements.map(\.bitPattern) }

    @Test func spreadPartsReadBackBitForBit() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let original = dense(seed: 1)
        let (block, zeroing) = pruned(original)
        let journal = BlockJournal(directory: dir, planHash: 0xABC)
        try writeSpread(journal, block, zeroing: zeroing)
        let found = try #require(journal.finished(block: 3, dense: original))
        for l in BlockLinear.allCases { #expect(bits(found.weights[l]!) == bits(block.weight(l)), "\(l)") }
        #expect(found.outcomes.map(\.prunedCount) == outcomes(block).map(\.prunedCount))
        // The zeroing linears take 1 bit per weight: q_proj's part entry is a U8 tensor of count/8 bytes.
        let q = block.weight(.q)
        let part = try SafetensorsFile(url: dir.appendingPathComponent(journal.partFileName(block: 3, part: WriteAssignment(shape: shape, ranks: 3).rank(of: .q))))
        #expect(part.info(BlockLinear.q.weightName(block: 3))?.dtype == .u8)
        #expect(part.info(BlockLinear.q.weightName(block: 3))?.shape == [(q.count + 7) / 8])

        // Written by one process (the blocks split), read the same.
        let single = BlockJournal(directory: try scratch(), planHash: 0xABC)
        defer { try? FileManager.default.removeItem(at: single.directory) }
        try single.record(block, zeroing: zeroing, outcomes: outcomes(block))
        let again = try #require(single.finished(block: 3, dense: original))
        for l in BlockLinear.allCases { #expect(bits(again.weights[l]!) == bits(block.weight(l))) }
    }

    @Test func anyMismatchMeansNotFinished() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let original = dense(seed: 2)
        let (block, zeroing) = pruned(original)
        let journal = BlockJournal(directory: dir, planHash: 0xABC)
        try writeSpread(journal, block, zeroing: zeroing)
        #expect(journal.finished(block: 3, dense: original) != nil)
        #expect(BlockJournal(directory: dir, planHash: 0xABD).finished(block: 3, dense: original) == nil, "another plan")
        #expect(journal.finished(block: 4, dense: original) == nil, "a block never journaled")
        #expect(journal.finished(block: 3, dense: dense(seed: 9)) == nil, "another input: rebuilt weights fail the checksum")

        // One flipped byte in a part's data (the last bytes of the file are tensor data).
        let url = dir.appendingPathComponent(journal.partFileName(block: 3, part: 1))
        var data = try Data(contentsOf: url)
        data[data.count - 1] ^= 0x10
        try data.write(to: url)
        #expect(journal.finished(block: 3, dense: original) == nil, "a damaged part")
        // A part that is missing altogether (a rank killed before writing it).
        try FileManager.default.removeItem(at: url)
        #expect(journal.finished(block: 3, dense: original) == nil, "a missing part")
    }
}
