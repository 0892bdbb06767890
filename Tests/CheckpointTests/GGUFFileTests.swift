import Foundation
import Testing
import Tensor
@testable import Checkpoint

/// Writes small GGUF files byte by byte, following ggml `docs/gguf.md`: header, key/values,
/// tensor infos, padding to the alignment, data (each tensor padded to the alignment too).
struct TinyGGUF {
    var version: UInt32 = 3
    var magic: [UInt8] = Array("GGUF".utf8)
    var alignment = 32
    var keyValues: [(key: String, type: UInt32, payload: [UInt8])] = []
    var tensors: [(name: String, dims: [UInt64], type: UInt32, data: [UInt8])] = []

    static func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    static func u64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    static func string(_ s: String) -> [UInt8] { u64(UInt64(s.utf8.count)) + Array(s.utf8) }
    static func floats(_ values: [Float]) -> [UInt8] { values.flatMap { u32($0.bitPattern) } }

    mutating func add(_ key: String, type: UInt32, _ payload: [UInt8]) { keyValues.append((key, type, payload)) }
    mutating func add(_ key: String, uint32 v: UInt32) { add(key, type: 4, Self.u32(v)) }
    mutating func add(_ key: String, float32 v: Float) { add(key, type: 6, Self.u32(v.bitPattern)) }
    mutating func add(_ key: String, string v: String) { add(key, type: 8, Self.string(v)) }
    mutating func add(_ key: String, strings: [String]) {
        add(key, type: 9, Self.u32(8) + Self.u64(UInt64(strings.count)) + strings.flatMap(Self.string))
    }

    /// A float32 tensor; `dims` as GGUF stores them (ne[0] first).
    mutating func addF32(_ name: String, dims: [UInt64], _ values: [Float]) {
        tensors.append((name, dims, 0, Self.floats(values)))
    }

    func bytes() -> Data {
        var out = magic + Self.u32(version) + Self.u64(UInt64(tensors.count)) + Self.u64(UInt64(keyValues.count))
        for kv in keyValues { out += Self.string(kv.key) + Self.u32(kv.type) + kv.payload }
        var offset = 0
        var data: [UInt8] = []
        for t in tensors {
            out += Self.string(t.name) + Self.u32(UInt32(t.dims.count)) + t.dims.flatMap(Self.u64) + Self.u32(t.type) + Self.u64(UInt64(offset))
            data += t.data
            data += [UInt8](repeating: 0, count: (alignment - data.count % alignment) % alignment)
            offset = data.count
        }
        out += [UInt8](repeating: 0, count: (alignment - out.count % alignment) % alignment)
        return Data(out + data)
    }

    func write(in dir: URL, name: String = "tiny.gguf") throws -> URL {
        let url = dir.appendingPathComponent(name)
        try bytes().write(to: url)
        return url
    }
}

@Suite struct GGUFFileTests {
    /// One key of every GGUF value type (0…12), including a nested array, and two tensors.
    static func everyType() -> TinyGGUF {
        var g = TinyGGUF()
        g.add("u8", type: 0, [200])
        g.add("i8", type: 1, [0xFE])
        g.add("u16", type: 2, [0x34, 0x12])
        g.add("i16", type: 3, [0xFF, 0xFF])
        g.add("u32", uint32: 70000)
        g.add("i32", type: 5, TinyGGUF.u32(UInt32(bitPattern: -5)))
        g.add("f32", float32: 0.5)
        g.add("yes", type: 7, [1])
        g.add("name", string: "tiny")
        g.add("tokens", strings: ["a", "bc", "é"])
        g.add("u64", type: 10, TinyGGUF.u64(1 << 40))
        g.add("i64", type: 11, TinyGGUF.u64(UInt64(bitPattern: -7)))
        g.add("f64", type: 12, TinyGGUF.u64((0.25 as Double).bitPattern))
        g.add("scores", type: 9, TinyGGUF.u32(6) + TinyGGUF.u64(2) + TinyGGUF.floats([-1, 2.5]))
        g.add("nested", type: 9, TinyGGUF.u32(9) + TinyGGUF.u64(2)
            + TinyGGUF.u32(5) + TinyGGUF.u64(1) + TinyGGUF.u32(7)
            + TinyGGUF.u32(5) + TinyGGUF.u64(2) + TinyGGUF.u32(8) + TinyGGUF.u32(9))
        // A 2×3 matrix in HF layout is stored with ne = [3, 2], rows one after another.
        g.addF32("w", dims: [3, 2], [1, 2, 3, 4, 5, 6])
        g.addF32("v", dims: [4], [9, 8, 7, 6])
        return g
    }

    @Test func parsesEveryValueTypeAndTensorInfos() throws {
        let dir = try TestFiles.makeTemporaryDirectory()
        defer { TestFiles.remove(dir) }
        let file = try GGUFFile(url: Self.everyType().write(in: dir))
        #expect(file.version == 3 && file.alignment == 32 && file.dataOffset % 32 == 0)
        #expect(file.metadata["u8"] == .uint8(200) && file.metadata["i8"] == .int8(-2))
        #expect(file.metadata["u16"] == .uint16(0x1234) && file.metadata["i16"] == .int16(-1))
        #expect(try file.int("u32") == 70000 && file.int("i32") == -5 && file.int("u64") == 1 << 40 && file.int("i64") == -7)
        #expect(file.metadata["f32"] == .float32(0.5) && file.metadata["f64"] == .float64(0.25))
        #expect(file.bool("yes") == true && file.bool("name") == nil && file.bool("absent") == nil)
        #expect(try file.string("name") == "tiny")
        #expect(try file.strings("tokens") == ["a", "bc", "é"])
        #expect(try file.floats("scores") == [-1, 2.5])
        #expect(file.metadata["nested"] == .array([.array([.int32(7)]), .array([.int32(8), .int32(9)])]))
        #expect(file.tensors.map(\.name) == ["w", "v"])
        #expect(file.tensors[0] == GGUFTensorInfo(name: "w", type: .f32, dims: [3, 2], offset: 0, byteCount: 24))
        #expect(file.tensors[1].offset == 32)
        #expect(try file.dequantize("w") == Matrix([[1, 2, 3], [4, 5, 6]]))
        #expect(try file.dequantize("v") == Matrix([[9, 8, 7, 6]]))
    }

    @Test func accessorErrorsNameTheKey() throws {
        let dir = try TestFiles.makeTemporaryDirectory()
        defer { TestFiles.remove(dir) }
        let file = try GGUFFile(url: Self.everyType().write(in: dir))
        let missing = #expect(throws: CheckpointError.self) { try file.string("general.name") }
        #expect(missing?.localizedDescription == "tiny.gguf: missing metadata key 'general.name'")
        let wrong = #expect(throws: CheckpointError.self) { try file.int("name") }
        #expect(wrong?.localizedDescription == "tiny.gguf: metadata key 'name' is string, expected an integer")
        let notInts = #expect(throws: CheckpointError.self) { try file.ints("scores") }
        #expect(notInts?.localizedDescription == "tiny.gguf: metadata key 'scores' is array of float32, expected an array of integers")
    }

    @Test func customAlignmentAndVersion2() throws {
        let dir = try TestFiles.makeTemporaryDirectory()
        defer { TestFiles.remove(dir) }
        var g = TinyGGUF()
        g.version = 2
        g.alignment = 64
        g.add("general.alignment", uint32: 64)
        g.addF32("a", dims: [1], [1])
        g.addF32("b", dims: [2], [2, 3])
        let file = try GGUFFile(url: g.write(in: dir))
        #expect(file.version == 2 && file.alignment == 64 && file.dataOffset % 64 == 0)
        #expect(file.tensors[1].offset == 64)
        #expect(try file.dequantize("b").elements == [2, 3])
    }

    static func openingFails(_ g: TinyGGUF, truncateTo length: Int? = nil) throws -> String {
        let dir = try TestFiles.makeTemporaryDirectory()
        defer { TestFiles.remove(dir) }
        let url = dir.appendingPathComponent("tiny.gguf")
        var bytes = g.bytes()
        if let length { bytes = bytes.prefix(length) }
        try bytes.write(to: url)
        let error = #expect(throws: CheckpointError.self) { try GGUFFile(url: url) }
        return error?.localizedDescription ?? ""
    }

    @Test func unknownTensorTypeNamesTensorAndNumber() throws {
        var g = TinyGGUF()
        g.tensors.append((name: "blk.0.attn_q.weight", dims: [32], type: 99, data: [UInt8](repeating: 0, count: 32)))
        #expect(try Self.openingFails(g) == "tiny.gguf: tensor 'blk.0.attn_q.weight' has unknown or unsupported ggml type 99")
    }

    @Test func malformedFilesNameWhatIsWrong() throws {
        var badMagic = TinyGGUF()
        badMagic.magic = Array("GGUX".utf8)
        #expect(try Self.openingFails(badMagic) == "tiny.gguf: not a GGUF file (magic is not 'GGUF')")
        var v1 = TinyGGUF()
        v1.version = 1
        #expect(try Self.openingFails(v1).hasPrefix("tiny.gguf: GGUF version 1 is not supported"))

        var g = TinyGGUF()
        g.add("general.name", string: "a long enough name")
        let truncated = try Self.openingFails(g, truncateTo: 60)
        #expect(truncated.hasPrefix("tiny.gguf: file ends at byte 60 while reading value of key 'general.name'"), "\(truncated)")

        var badType = TinyGGUF()
        badType.add("k", type: 13, [0])
        #expect(try Self.openingFails(badType) == "tiny.gguf: key 'k' has unknown value type 13")

        var past = TinyGGUF()
        past.addF32("w", dims: [8, 2], [1, 2])  // 64 bytes declared, 32 stored
        let pastEnd = try Self.openingFails(past)
        #expect(pastEnd == "tiny.gguf: tensor 'w': 64 bytes at offset 0 run past the 32-byte data section", "\(pastEnd)")

        var partial = TinyGGUF()
        partial.tensors.append((name: "q", dims: [16], type: GGMLType.q8_0.rawValue, data: [UInt8](repeating: 0, count: 34)))
        #expect(try Self.openingFails(partial) == "tiny.gguf: tensor 'q': ne[0] = 16 is not a multiple of the Q8_0 block size 32")
    }
}
