import Foundation
import Testing
@testable import Checkpoint

/// Every type `GGUFDequant` reads, decoded from crafted blocks and compared bit for bit with what
/// llama.cpp's `gguf.quants.dequantize` made of the same bytes (`Tests/Fixtures/gguf-quants`,
/// written by its `make_fixtures.py`). The blocks are random with finite scales plus all-ones and
/// all-zero quant bits, so every bit field of every layout is exercised.
@Suite struct GGUFDequantFixtureTests {
    static let fixtures = TestFiles.repositoryRoot.appendingPathComponent("Tests/Fixtures/gguf-quants")
    static let types: [GGMLType] = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]

    static func load(_ type: GGMLType) throws -> (blocks: [UInt8], expected: [UInt32]) {
        let blocks = try [UInt8](Data(contentsOf: fixtures.appendingPathComponent("\(type.name).blocks")))
        let f32 = try Data(contentsOf: fixtures.appendingPathComponent("\(type.name).f32"))
        let expected = f32.withUnsafeBytes { raw in
            (0..<(raw.count / 4)).map { UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) }
        }
        return (blocks, expected)
    }

    static func decode(_ blocks: [UInt8], _ type: GGMLType) -> [UInt32] {
        let count = blocks.count / type.blockBytes * type.blockSize
        var out = [Float](repeating: .nan, count: count)
        blocks.withUnsafeBytes { src in out.withUnsafeMutableBufferPointer { GGUFDequant.dequantize(src, type: type, into: $0) } }
        return out.map(\.bitPattern)
    }

    @Test(arguments: types) func matchesGGUFPackage(_ type: GGMLType) throws {
        let (blocks, expected) = try Self.load(type)
        try #require(blocks.count % type.blockBytes == 0 && blocks.count / type.blockBytes * type.blockSize == expected.count)
        let got = Self.decode(blocks, type)
        let firstDifference = got.indices.first { got[$0] != expected[$0] }
        #expect(firstDifference == nil, "\(type.name): element \(firstDifference ?? -1) is \(Float(bitPattern: got[firstDifference ?? 0])), gguf has \(Float(bitPattern: expected[firstDifference ?? 0]))")
    }

    /// Control: every byte of a block feeds the decoding. Flipping one bit of byte j in every
    /// block changes the values, for each j, so a decoder that ignored or misplaced a field (or
    /// fixtures that were all zeros) would fail above. Flipped in every block because in one block
    /// a random scale can be zero, or so much smaller than the minimum that `d·q − m` rounds to `−m`.
    @Test(arguments: types.filter { $0.blockSize > 1 }) func everyByteOfABlockMatters(_ type: GGMLType) throws {
        let (blocks, expected) = try Self.load(type)
        let blockCount = blocks.count / type.blockBytes
        let inert = (0..<type.blockBytes).filter { byte in
            var flipped = blocks
            for b in 0..<blockCount { flipped[b * type.blockBytes + byte] ^= 0x10 }
            return Self.decode(flipped, type) == expected
        }
        #expect(inert.isEmpty, "\(type.name): flipping bit 4 of bytes \(inert) changes nothing")
    }
}
