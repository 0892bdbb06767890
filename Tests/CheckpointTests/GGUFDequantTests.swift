import Foundation
import Testing
@testable import Checkpoint

/// Each ggml type decoded from a hand-built block; expected values worked out in the comments.
@Suite struct GGUFDequantTests {
    static func decode(_ bytes: [UInt8], _ type: GGMLType, count: Int) -> [Float] {
        var out = [Float](repeating: .nan, count: count)
        bytes.withUnsafeBytes { src in
            out.withUnsafeMutableBufferPointer { GGUFDequant.dequantize(src, type: type, into: $0) }
        }
        return out
    }

    static func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }

    @Test func f32() {
        let values: [Float] = [1.5, -0.0, .infinity, Float(bitPattern: 1)]
        let bytes = values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
        #expect(Self.decode(bytes, .f32, count: 4).map(\.bitPattern) == values.map(\.bitPattern))
    }

    @Test func f16() {
        // 0x3C00 = 1, 0xC000 = −2, 0x7BFF = 65504 (largest half), 0x0001 = 2^−24 (smallest subnormal).
        let bytes = [0x3C00, 0xC000, 0x7BFF, 0x0001].flatMap(Self.le16)
        #expect(Self.decode(bytes, .f16, count: 4) == [1, -2, 65504, 0x1p-24])
    }

    @Test func bf16() {
        // 0x3F80 = 1, 0xC0A0 = −5, 0x4049 = 3.140625 (0x40490000 as float32).
        let bytes = [0x3F80, 0xC0A0, 0x4049].flatMap(Self.le16)
        #expect(Self.decode(bytes, .bf16, count: 3) == [1, -5, 3.140625])
    }

    @Test func q8_0() {
        // Block 0: d = 0x3400 = 0.25; q = −128, −1, 0, 1, 2, 127, then zeros →
        //   −32, −0.25, 0, 0.25, 0.5, 31.75, 0 … 0.
        // Block 1: d = 0x3C00 = 1; every q = 3 → 3.
        var bytes = Self.le16(0x3400) + [0x80, 0xFF, 0, 1, 2, 127] + [UInt8](repeating: 0, count: 26)
        bytes += Self.le16(0x3C00) + [UInt8](repeating: 3, count: 32)
        let expected: [Float] = [-32, -0.25, 0, 0.25, 0.5, 31.75] + [Float](repeating: 0, count: 26) + [Float](repeating: 3, count: 32)
        #expect(bytes.count == 2 * GGMLType.q8_0.blockBytes)
        #expect(Self.decode(bytes, .q8_0, count: 64) == expected)
    }

    @Test func q4_0() {
        // d = 0x4000 = 2. qs[0] = 0x1F: low nibble 15 → element 0 = (15−8)·2 = 14, high nibble 1 →
        // element 16 = (1−8)·2 = −14. qs[1] = 0x80: element 1 = (0−8)·2 = −16, element 17 = (8−8)·2 = 0.
        // qs[2…15] = 0x88 → 0.
        let bytes = Self.le16(0x4000) + [0x1F, 0x80] + [UInt8](repeating: 0x88, count: 14)
        var expected = [Float](repeating: 0, count: 32)
        expected[0] = 14
        expected[1] = -16
        expected[16] = -14
        #expect(bytes.count == GGMLType.q4_0.blockBytes)
        #expect(Self.decode(bytes, .q4_0, count: 32) == expected)
    }

    @Test func q4_1() {
        // d = 0x3800 = 0.5, m = 0xBC00 = −1. qs[0] = 0x3A: element 0 = 10·0.5 − 1 = 4, element 16 =
        // 3·0.5 − 1 = 0.5. qs[15] = 0xF0: element 15 = 0·0.5 − 1 = −1, element 31 = 15·0.5 − 1 = 6.5.
        // Other bytes 0x00 → −1.
        let bytes = Self.le16(0x3800) + Self.le16(0xBC00) + [0x3A] + [UInt8](repeating: 0, count: 14) + [0xF0]
        var expected = [Float](repeating: -1, count: 32)
        expected[0] = 4
        expected[16] = 0.5
        expected[31] = 6.5
        #expect(bytes.count == GGMLType.q4_1.blockBytes)
        #expect(Self.decode(bytes, .q4_1, count: 32) == expected)
    }

    @Test func supportedTypes() {
        #expect(GGMLType.allCases.filter(GGUFDequant.supports).map(\.name).sorted() == ["BF16", "F16", "F32", "Q2_K", "Q3_K", "Q4_0", "Q4_1", "Q4_K", "Q5_0", "Q5_1", "Q5_K", "Q6_K", "Q8_0"])
    }
}
