import Foundation
import Testing
import Tensor
@testable import Checkpoint

/// Header validation: each malformed field gives one error naming the file and the tensor.
@Suite struct SafetensorsFileTests {
    /// Writes `<header length><header><dataBytes zero bytes>` as `bad.safetensors`.
    static func rawFile(_ header: String, dataBytes: Int, in dir: URL) throws -> URL {
        var bytes = Data()
        let json = Data(header.utf8)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(json)
        bytes.append(Data(count: dataBytes))
        let url = dir.appendingPathComponent("bad.safetensors")
        try bytes.write(to: url)
        return url
    }

    static func openingFails(_ header: String, dataBytes: Int) throws -> String {
        let dir = try TestFiles.makeTemporaryDirectory()
        defer { TestFiles.remove(dir) }
        let url = try rawFile(header, dataBytes: dataBytes, in: dir)
        let error = #expect(throws: CheckpointError.self) { try SafetensorsFile(url: url) }
        return error?.localizedDescription ?? ""
    }

    @Test func truncatedFile() throws {
        let dir = try TestFiles.makeTemporaryDirectory()
        defer { TestFiles.remove(dir) }
        let url = dir.appendingPathComponent("short.safetensors")
        try Data([1, 2, 3, 4, 5]).write(to: url)
        let error = #expect(throws: CheckpointError.self) { try SafetensorsFile(url: url) }
        #expect(error?.localizedDescription == "short.safetensors: file is 5 bytes, shorter than the 8-byte header length")
    }

    @Test func headerLengthPastEndOfFile() throws {
        let dir = try TestFiles.makeTemporaryDirectory()
        defer { TestFiles.remove(dir) }
        let url = dir.appendingPathComponent("long.safetensors")
        var bytes = Data()
        withUnsafeBytes(of: UInt64(1000).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(Data("{}".utf8))
        try bytes.write(to: url)
        let error = #expect(throws: CheckpointError.self) { try SafetensorsFile(url: url) }
        #expect(error?.localizedDescription == "long.safetensors: header length 1000 runs past the end of the 10-byte file")
    }

    @Test func badJSON() throws {
        #expect(try Self.openingFails("{\"w\": {\"dtype\": ", dataBytes: 0).hasPrefix("bad.safetensors: header is not a valid JSON object"))
        #expect(try Self.openingFails("[1, 2]", dataBytes: 0)
            == "bad.safetensors: header is not a valid JSON object: the top level is not an object")
    }

    @Test func unknownDtype() throws {
        let message = try Self.openingFails(#"{"w": {"dtype": "Q4", "shape": [2], "data_offsets": [0, 1]}}"#, dataBytes: 1)
        #expect(message == "bad.safetensors: tensor 'w' has unknown dtype 'Q4'")
    }

    @Test func shapeTimesDtypeDiffersFromSpan() throws {
        let message = try Self.openingFails(
            #"{"model.layers.0.mlp.up_proj.weight": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]}}"#, dataBytes: 24)
        #expect(message == "bad.safetensors: tensor 'model.layers.0.mlp.up_proj.weight' (F32 [2, 3]) needs 24 bytes but data_offsets span 20")
    }

    @Test func spanOutOfBounds() throws {
        let message = try Self.openingFails(#"{"w": {"dtype": "BF16", "shape": [12], "data_offsets": [0, 24]}}"#, dataBytes: 16)
        #expect(message == "bad.safetensors: tensor 'w' ends at byte 24, past the 16-byte data section")
    }

    @Test func overlappingSpans() throws {
        let header = #"{"model.layers.0.mlp.up_proj.weight": {"dtype": "U8", "shape": [100], "data_offsets": [100, 200]},"#
            + #" "x": {"dtype": "U8", "shape": [150], "data_offsets": [150, 300]},"#
            + #" "first": {"dtype": "U8", "shape": [100], "data_offsets": [0, 100]}}"#
        let message = try Self.openingFails(header, dataBytes: 300)
        #expect(message == "bad.safetensors: tensor 'x' spans bytes 150..300, overlapping 'model.layers.0.mlp.up_proj.weight' (100..200)")
        // A span nested inside an earlier, longer one is caught too.
        let nested = try Self.openingFails(#"{"a": {"dtype": "U8", "shape": [10], "data_offsets": [0, 10]},"#
            + #" "b": {"dtype": "U8", "shape": [2], "data_offsets": [2, 4]}}"#, dataBytes: 10)
        #expect(nested == "bad.safetensors: tensor 'b' spans bytes 2..4, overlapping 'a' (0..10)")
    }

    @Test func malformedFields() throws {
        #expect(try Self.openingFails(#"{"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}"#, dataBytes: 0)
            == "bad.safetensors: tensor 'w': shape: dimension -1 is negative")
        #expect(try Self.openingFails(#"{"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}}"#, dataBytes: 4)
            == "bad.safetensors: tensor 'w': shape: expected a list of integers")
        #expect(try Self.openingFails(#"{"w": {"dtype": "F32", "data_offsets": [0, 4]}}"#, dataBytes: 4)
            == "bad.safetensors: tensor 'w': shape: missing")
        #expect(try Self.openingFails(#"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}}"#, dataBytes: 8)
            == "bad.safetensors: tensor 'w': data_offsets: begin 8 is negative or after end 4")
        #expect(try Self.openingFails(#"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}"#, dataBytes: 4)
            == "bad.safetensors: tensor 'w': data_offsets: expected [begin, end], got 1 numbers")
        #expect(try Self.openingFails(#"{"w": 3}"#, dataBytes: 0) == "bad.safetensors: tensor 'w': entry: not a JSON object")
        #expect(try Self.openingFails(#"{"__metadata__": {"format": 1}}"#, dataBytes: 0)
            == "bad.safetensors: header is not a valid JSON object: __metadata__ must map strings to strings")
    }

    @Test func readsDtypesMetadataAndZeroFraction() throws {
        let dir = try TestFiles.makeTemporaryDirectory()
        defer { TestFiles.remove(dir) }
        // i: I8 [1, 0, 0, 5]; z: F32 [0, -0, 2, 0] written raw after the header.
        let header = #"{"__metadata__": {"format": "pt", "note": "x"}, "#
            + #""z": {"dtype": "F32", "shape": [2, 2], "data_offsets": [4, 20]}, "i": {"dtype": "I8", "shape": [4], "data_offsets": [0, 4]}}"#
        var url = try Self.rawFile(header, dataBytes: 0, in: dir)
        var bytes = try Data(contentsOf: url)
        bytes.append(contentsOf: [1, 0, 0, 5] as [UInt8])
        for f: Float in [0, -0.0, 2, 0] { withUnsafeBytes(of: f.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        url = dir.appendingPathComponent("ok.safetensors")
        try bytes.write(to: url)

        let file = try SafetensorsFile(url: url)
        #expect(file.tensorNames == ["i", "z"])
        #expect(file.metadata == ["format": "pt", "note": "x"])
        #expect(file.info("i")?.dtype == .i8)
        #expect(try file.zeroFraction("i") == 0.5)
        #expect(try file.zeroFraction("z") == 0.75)
        #expect(try file.matrix("z") == Matrix([[0, -0.0], [2, 0]]))
        let conversion = #expect(throws: CheckpointError.self) { try file.matrix("i") }
        #expect(conversion?.localizedDescription == "ok.safetensors: tensor 'i' has dtype I8, which cannot be converted to or from float32")
        let missing = #expect(throws: CheckpointError.self) { try file.matrix("nope") }
        #expect(missing?.localizedDescription == "ok.safetensors: no tensor named 'nope'")
    }
}
