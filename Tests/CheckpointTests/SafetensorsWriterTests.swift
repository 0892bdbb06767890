import Foundation
import Testing
import Tensor
@testable import Checkpoint

@Suite struct SafetensorsWriterTests {
    /// Values that exercise every rounding path: exact halves, subnormals, signed zeros, infinities.
    static let awkward: [Float] = [0, -0.0, 1, -2.5, 3.140625, 1e-7, -65504, .infinity, -.infinity, 1.0 / 3.0, 6e-8, 0.1]

    @Test func float32RoundTripIsBitExact() throws {
        let dir = try TestFiles.makeTemporaryDirectory()
        defer { TestFiles.remove(dir) }
        let url = dir.appendingPathComponent("model.safetensors")
        let w = Matrix(rows: 3, cols: 4, elements: Self.awkward)
        let norm = Matrix(rows: 1, cols: 5, elements: [1, 2, 3, 4, 5])
        let writer = try SafetensorsWriter(url: url, entries: [
            .init(name: "w", dtype: .f32, shape: [3, 4]),
            .init(name: "norm", dtype: .f32, shape: [5]),
        ])
        try writer.write("w", w)
        try writer.write("norm", norm)
        try writer.finish()

        let file = try SafetensorsFile(url: url)
        #expect(file.tensorNames == ["w", "norm"])  // data order = order written
        #expect(file.metadata == ["format": "pt"])
        #expect(try file.matrix("w").elements.map(\.bitPattern) == w.elements.map(\.bitPattern))
        let readNorm = try file.matrix("norm")
        #expect(readNorm.rows == 1 && readNorm.cols == 5 && readNorm.elements == norm.elements)
        #expect(file.info("w") == TensorInfo(name: "w", dtype: .f32, shape: [3, 4], dataOffsets: 0..<48))
        #expect(file.info("norm")?.dataOffsets == 48..<68)
        #expect(!FileManager.default.fileExists(atPath: writer.temporaryURL.path))
    }

    @Test(arguments: [SafetensorsDType.bf16, .f16])
    func halfPrecisionRoundTripIsBitExact(dtype: SafetensorsDType) throws {
        let dir = try TestFiles.makeTemporaryDirectory()
        defer { TestFiles.remove(dir) }
        // Every finite 16-bit pattern of the format, written raw, read as float32, written
        // again from float32: the second file's bytes must equal the first's.
        let patterns = (0...UInt16.max).filter { bits in
            let f = dtype == .bf16 ? HalfPrecision.bf16ToFloat(bits) : HalfPrecision.f16ToFloat(bits)
            return !f.isNaN
        }
        var raw = Data()
        for p in patterns { withUnsafeBytes(of: p.littleEndian) { raw.append(contentsOf: $0) } }
        let entry = SafetensorsWriter.Entry(name: "t", dtype: dtype, shape: [patterns.count])
        let first = dir.appendingPathComponent("a.safetensors")
        let w1 = try SafetensorsWriter(url: first, entries: [entry])
        try w1.write("t", rawBytes: raw)
        try w1.finish()

        let matrix = try SafetensorsFile(url: first).matrix("t")
        let second = dir.appendingPathComponent("b.safetensors")
        let w2 = try SafetensorsWriter(url: second, entries: [entry])
        try w2.write("t", matrix)
        try w2.finish()
        #expect(try Data(contentsOf: first) == Data(contentsOf: second))
        #expect(try SafetensorsFile(url: second).data("t") == raw)
    }

    @Test func bf16NarrowingRoundsToNearestEven() throws {
        let dir = try TestFiles.makeTemporaryDirectory()
        defer { TestFiles.remove(dir) }
        let url = dir.appendingPathComponent("x.safetensors")
        // 1 + 2^-8 lies exactly halfway between bf16 1.0 (0x3F80) and 1.0078125 (0x3F81): ties
        // go to the even pattern 0x3F80. 1 + 3·2^-8 lies halfway between 0x3F81 and 0x3F82 → 0x3F82.
        let writer = try SafetensorsWriter(url: url, entries: [.init(name: "x", dtype: .bf16, shape: [2])])
        try writer.write("x", Matrix(rows: 1, cols: 2, elements: [1 + 0x1p-8, 1 + 3 * 0x1p-8]))
        try writer.finish()
        #expect(try [UInt8](SafetensorsFile(url: url).data("x")) == [0x80, 0x3F, 0x82, 0x3F])
    }

    @Test func headerIsPaddedToEightBytesWithSpacesAndMetadataFirst() throws {
        let dir = try TestFiles.makeTemporaryDirectory()
        defer { TestFiles.remove(dir) }
        let url = dir.appendingPathComponent("p.safetensors")
        let writer = try SafetensorsWriter(url: url, entries: [.init(name: "a\"b", dtype: .f32, shape: [1])])
        try writer.write("a\"b", Matrix(rows: 1, cols: 1, elements: [7]))
        try writer.finish()
        let bytes = try Data(contentsOf: url)
        let length = Int(bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        #expect(length % 8 == 0)
        #expect(bytes.count == 8 + length + 4)
        let header = String(decoding: bytes[8..<(8 + length)], as: UTF8.self)
        #expect(header.hasPrefix(#"{"__metadata__":{"format":"pt"},"a\"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#))
        #expect(header.reversed().prefix(while: { $0 != "}" }).allSatisfy { $0 == " " })
        #expect(try SafetensorsFile(url: url).matrix("a\"b").elements == [7])
    }

    @Test func errorsRemoveTheTemporaryFileAndLeaveNoDestination() throws {
        let dir = try TestFiles.makeTemporaryDirectory()
        defer { TestFiles.remove(dir) }
        let url = dir.appendingPathComponent("e.safetensors")
        let writer = try SafetensorsWriter(url: url, entries: [
            .init(name: "a", dtype: .f32, shape: [2, 2]), .init(name: "b", dtype: .f32, shape: [1]),
        ])
        #expect(FileManager.default.fileExists(atPath: writer.temporaryURL.path))
        let error = #expect(throws: CheckpointError.self) {
            try writer.write("a", Matrix(rows: 1, cols: 4))
        }
        #expect(error?.localizedDescription.contains("e.safetensors: tensor 'a'") == true)
        #expect(!FileManager.default.fileExists(atPath: writer.temporaryURL.path))
        #expect(!FileManager.default.fileExists(atPath: url.path))
    }

    @Test func outOfOrderWriteAndEarlyFinishAreRejected() throws {
        let dir = try TestFiles.makeTemporaryDirectory()
        defer { TestFiles.remove(dir) }
        let url = dir.appendingPathComponent("o.safetensors")
        let entries: [SafetensorsWriter.Entry] = [.init(name: "a", dtype: .f32, shape: [1]), .init(name: "b", dtype: .f32, shape: [1])]
        let w1 = try SafetensorsWriter(url: url, entries: entries)
        #expect(throws: CheckpointError.self) { try w1.write("b", Matrix(rows: 1, cols: 1)) }
        let w2 = try SafetensorsWriter(url: url, entries: entries)
        try w2.write("a", Matrix(rows: 1, cols: 1))
        let error = #expect(throws: CheckpointError.self) { try w2.finish() }
        #expect(error?.localizedDescription.contains("'b'") == true)
        #expect(!FileManager.default.fileExists(atPath: url.path))
    }

    @Test func droppingAnUnfinishedWriterRemovesTheTemporaryFile() throws {
        let dir = try TestFiles.makeTemporaryDirectory()
        defer { TestFiles.remove(dir) }
        var temporary: URL?
        do {
            let writer = try SafetensorsWriter(url: dir.appendingPathComponent("d.safetensors"),
                                               entries: [.init(name: "a", dtype: .f32, shape: [1])])
            temporary = writer.temporaryURL
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
        // `<name>.tmp-` and 16 random hex digits (AtomicFile): never a guessable name.
        let suffix = temporary?.lastPathComponent.dropFirst("d.safetensors.tmp-".count) ?? ""
        #expect(temporary?.lastPathComponent.hasPrefix("d.safetensors.tmp-") == true && suffix.count == 16
                && suffix.allSatisfy(\.isHexDigit), "\(String(describing: temporary))")
    }
}
