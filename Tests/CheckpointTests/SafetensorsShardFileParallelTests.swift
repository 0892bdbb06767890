import Checkpoint
import Foundation
import Tensor
import Testing

/// `SafetensorsShardFile.write(_:threads:pieceElements:)`, the block write that converts a block's
/// linears on several threads in pieces: the file's bytes equal writing each tensor alone, for any
/// thread count and piece size (pieces that do not divide a tensor, or one element long).
@Suite struct SafetensorsShardFileParallelTests {
    static func tensors() -> [(name: String, matrix: Matrix)] {
        var rng = SplitMix64(seed: 7)
        return [("a", 13, 17), ("b", 1, 5), ("c", 40, 33)].map { name, rows, cols in
            (name, Matrix(rows: rows, cols: cols, elements: (0..<(rows * cols)).map { _ in rng.unitFloat() * 3.7 }))
        }
    }

    static func plan(_ tensors: [(name: String, matrix: Matrix)], dtype: SafetensorsDType) -> ShardPlan {
        ShardPlan(entries: tensors.map { .init(name: $0.name, dtype: dtype, shape: [$0.matrix.rows, $0.matrix.cols]) },
                  maxShardSize: ShardPlan.defaultMaxShardSize)
    }

    /// The bytes of a file the plan's first shard, with `fill` writing its tensors.
    static func bytes(_ plan: ShardPlan, _ fill: (SafetensorsShardFile) throws -> Void) throws -> Data {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("shard-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafetensorsShardFile.create(plan, file: 0, at: url)
        let file = try SafetensorsShardFile(plan, file: 0, at: url)
        try fill(file)
        try file.finish(expected: plan.files[0].entries.map(\.name))
        return try Data(contentsOf: url)
    }

    @Test(arguments: [SafetensorsDType.bf16, .f32])
    func piecesOnThreadsGiveTheBytesOfOneByOneWrites(dtype: SafetensorsDType) throws {
        let tensors = Self.tensors(), plan = Self.plan(tensors, dtype: dtype)
        let serial = try Self.bytes(plan) { file in for t in tensors { try file.write(t.name, t.matrix) } }
        for (threads, piece) in [(1, 1 << 22), (2, 7), (3, 1), (2, 221)] {
            let parallel = try Self.bytes(plan) { try $0.write(tensors, threads: threads, pieceElements: piece) }
            #expect(parallel == serial, "\(dtype) \(threads) threads, pieces of \(piece)")
        }
        // Control: the comparison sees a single changed element.
        var changed = tensors
        changed[2].matrix[39, 32] += 1
        let other = try Self.bytes(plan) { try $0.write(changed, threads: 2, pieceElements: 7) }
        #expect(other != serial)
    }

    @Test func aTensorListedTwiceOrAlreadyWrittenIsRefused() throws {
        let tensors = Self.tensors(), plan = Self.plan(tensors, dtype: .bf16)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("shard-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafetensorsShardFile.create(plan, file: 0, at: url)
        let file = try SafetensorsShardFile(plan, file: 0, at: url)
        #expect(throws: CheckpointError.self) { try file.write([tensors[0], tensors[0]], threads: 2) }
        try file.write([tensors[0]], threads: 2)
        #expect(throws: CheckpointError.self) { try file.write([tensors[0], tensors[1]], threads: 2) }
        try file.write([tensors[1], tensors[2]], threads: 2)
        try file.finish(expected: plan.files[0].entries.map(\.name))
    }
}
