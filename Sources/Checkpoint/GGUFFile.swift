import Foundation
import Tensor

/// A GGUF file (v3, v2 accepted), memory-mapped. The header, metadata and tensor table are parsed
/// and validated on open; tensor data is read only by `dequantize`. Names and layout are
/// llama.cpp's; `TensorName` and `GGUFCheckpoint` translate to Hugging Face's.
public final class GGUFFile: Sendable {
    public let url: URL
    public let version: UInt32
    public let metadata: [String: GGUFValue]
    /// Tensor infos in file order.
    public let tensors: [GGUFTensorInfo]
    /// `general.alignment`, or 32.
    public let alignment: Int
    /// File offset of the data section (tensor offsets are relative to it).
    public let dataOffset: Int

    private let mapped: MappedFile
    private let tensorIndex: [String: Int]

    public init(url: URL) throws {
        self.url = url
        mapped = try MappedFile(url: url)
        let header = try mapped.withBytes(0..<mapped.byteCount) { try GGUFHeader(bytes: $0, file: url.lastPathComponent) }
        version = header.version
        metadata = header.metadata
        tensors = header.tensors
        alignment = header.alignment
        dataOffset = header.dataOffset
        tensorIndex = Dictionary(uniqueKeysWithValues: header.tensors.enumerated().map { ($1.name, $0) })
    }

    public var fileName: String { mapped.name }

    public func tensor(_ name: String) -> GGUFTensorInfo? { tensorIndex[name].map { tensors[$0] } }

    public func contains(_ name: String) -> Bool { tensorIndex[name] != nil }

    // MARK: Metadata accessors (the tokenizer reads its vocabulary through these)

    public func string(_ key: String) throws -> String {
        guard case let .string(s) = try value(key) else { throw typeError(key, "a string") }
        return s
    }

    public func strings(_ key: String) throws -> [String] {
        try array(key, "an array of strings") { if case let .string(s) = $0 { s } else { nil } }
    }

    /// Any integer type that fits in Int.
    public func int(_ key: String) throws -> Int {
        guard let v = try value(key).intValue else { throw typeError(key, "an integer") }
        return v
    }

    public func ints(_ key: String) throws -> [Int] {
        try array(key, "an array of integers") { $0.intValue }
    }

    /// An array of numbers (float32, float64, or integers) as Float.
    public func floats(_ key: String) throws -> [Float] {
        try array(key, "an array of numbers") { $0.doubleValue.map(Float.init) }
    }

    /// A number of any type as Double (e.g. `llama.rope.freq_base`, a float32).
    public func double(_ key: String) throws -> Double {
        guard let v = try value(key).doubleValue else { throw typeError(key, "a number") }
        return v
    }

    /// nil when the key is absent or not a bool.
    public func bool(_ key: String) -> Bool? {
        if case let .bool(b) = metadata[key] { b } else { nil }
    }

    // MARK: Tensor data

    /// Lends the tensor's stored bytes (its ggml type, little-endian).
    public func withTensorBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let info = try require(name)
        let start = dataOffset + info.offset
        return try mapped.withBytes(start..<(start + info.byteCount), body)
    }

    /// The tensor as float32 in Hugging Face layout: rows = ne[1] (times any further dims),
    /// cols = ne[0]; a 1-D tensor is 1×n. Q/K rows are still in llama.cpp's RoPE order
    /// (`TensorName.unpermuteQK` undoes it; `GGUFCheckpoint` does so automatically).
    public func dequantize(_ name: String) throws -> Matrix {
        let info = try require(name)
        guard GGUFDequant.supports(info.type) else {
            throw CheckpointError.ggufBadTensor(file: fileName, tensor: name, reason: "cannot dequantize type \(info.type.name)")
        }
        var result = Matrix(rows: info.rows, cols: info.cols)
        try withTensorBytes(name) { bytes in
            result.withUnsafeMutableElements { GGUFDequant.dequantize(bytes, type: info.type, into: $0) }
        }
        return result
    }

    private func require(_ name: String) throws -> GGUFTensorInfo {
        guard let info = tensor(name) else { throw CheckpointError.tensorNotFound(file: fileName, tensor: name) }
        return info
    }

    private func value(_ key: String) throws -> GGUFValue {
        guard let v = metadata[key] else { throw CheckpointError.ggufMissingKey(file: fileName, key: key) }
        return v
    }

    private func array<T>(_ key: String, _ expected: String, _ element: (GGUFValue) -> T?) throws -> [T] {
        guard case let .array(items) = try value(key) else { throw typeError(key, expected) }
        var out: [T] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let v = element(item) else { throw typeError(key, expected) }
            out.append(v)
        }
        return out
    }

    private func typeError(_ key: String, _ expected: String) -> CheckpointError {
        .ggufKeyType(file: fileName, key: key, expected: expected, found: metadata[key]?.typeName ?? "absent")
    }
}
