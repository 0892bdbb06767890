import Diagnostics
import Foundation
import Tensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a GGUF v3 file: header, metadata, tensor infos, then the tensor data, each tensor at an
/// offset aligned to `general.alignment` (32). Layout as ggml `docs/gguf.md` and gguf-py
/// `gguf_writer.py` (`write_header_to_file`, `write_kv_data_to_file`, `write_ti_data_to_file`):
/// strings are u64 length + bytes, arrays are element type + u64 count + elements, dims are
/// written innermost first (`ne[0]` = a row's length). Tensors are written one after another
/// from float32 into a temporary file beside `dest` (`AtomicFile`), renamed onto it by `finish()`; any error or
/// dropping the writer before `finish()` removes the temporary file.
public final class GGUFWriter {
    public struct Entry: Sendable, Equatable {
        public var name: String
        /// Outermost first, as Hugging Face shapes are (`[rows, cols]`).
        public var shape: [Int]
        public var type: GGMLType
        public init(name: String, shape: [Int], type: GGMLType) {
            self.name = name
            self.shape = shape
            self.type = type
        }
        var elementCount: Int { shape.reduce(1, *) }
        var byteCount: Int { elementCount / type.blockSize * type.blockBytes }
    }

    public static let alignment = 32
    public let destination: URL
    /// The temporary file, put in place by `finish()` (`AtomicFile`: the one POSIX write path).
    private let file: AtomicFile
    private let entries: [Entry]
    private var next = 0
    private var written = 0

    /// Writes everything before the tensor data. Only F32, F16, BF16 and Q8_0 are written; a
    /// Q8_0 tensor's rows must be a multiple of 32 long.
    public init(url: URL, metadata: [(key: String, value: GGUFValue)], entries: [Entry]) throws {
        destination = url
                self.entries = entries
        let file = url.lastPathComponent
        for e in entries {
            guard [.f32, .f16, .bf16, .q8_0].contains(e.type) else {
                throw CheckpointError.writerMismatch(file: file, tensor: e.name, reason: "cannot write ggml type \(e.type.name)")
            }
            guard let inner = e.shape.last, inner % e.type.blockSize == 0 else {
                throw CheckpointError.writerMismatch(file: file, tensor: e.name,
                                                     reason: "rows of \(e.shape.last ?? 0) do not split into \(e.type.name) blocks of \(e.type.blockSize)")
            }
        }
        var header = Data()
        header.append(contentsOf: Array("GGUF".utf8))
        Self.append(UInt32(3), to: &header)
        Self.append(UInt64(entries.count), to: &header)
        Self.append(UInt64(metadata.count), to: &header)
        for (key, value) in metadata {
            Self.append(string: key, to: &header)
            Self.append(value: value, to: &header, withType: true)
        }
        var offset = 0
        for e in entries {
            Self.append(string: e.name, to: &header)
            Self.append(UInt32(e.shape.count), to: &header)
            for d in e.shape.reversed() { Self.append(UInt64(d), to: &header) }
            Self.append(e.type.rawValue, to: &header)
            Self.append(UInt64(offset), to: &header)
            offset += Self.padded(e.byteCount)
        }
        header.append(Data(count: Self.padded(header.count) - header.count))
        self.file = try AtomicFile(beside: url)
        try guarded { try header.withUnsafeBytes { try writeAll($0) } }
    }

    /// The next tensor, from float32 in row-major HF layout.
    public func write(_ name: String, _ matrix: Matrix) throws {
        StopSignal.checkpoint()
        guard next < entries.count, entries[next].name == name else {
            throw CheckpointError.writerMismatch(file: destination.lastPathComponent, tensor: name,
                                                 reason: "written out of order (expected \(next < entries.count ? entries[next].name : "nothing"))")
        }
        let entry = entries[next]
        guard matrix.count == entry.elementCount else {
            throw CheckpointError.writerMismatch(file: destination.lastPathComponent, tensor: name,
                                                 reason: "shape \(entry.shape) given \(matrix.count) elements")
        }
        try guarded {
            let bytes = matrix.withUnsafeElements { Self.encode($0, as: entry.type) }
            try bytes.withUnsafeBytes { try writeAll($0) }
            let pad = Self.padded(bytes.count) - bytes.count
            if pad > 0 { try [UInt8](repeating: 0, count: pad).withUnsafeBytes { try writeAll($0) } }
        }
        next += 1
    }

    public func finish() throws {
        guard next == entries.count else {
            throw CheckpointError.writerMismatch(file: destination.lastPathComponent, tensor: entries[next].name, reason: "never written")
        }
        try guarded {
            try file.commit()
        }
    }

    /// float32 → the type's bytes. Q8_0 follows ggml `quantize_row_q8_0_ref`: per block of 32,
    /// d = max|x| / 127 stored as f16, q = round(x / d) half away from zero (0 when d is 0).
    static func encode(_ values: UnsafeBufferPointer<Float>, as type: GGMLType) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: values.count / type.blockSize * type.blockBytes)
        out.withUnsafeMutableBytes { raw in
            switch type {
            case .f32: ElementConversion.narrowToF32(values, into: raw)
            case .f16: ElementConversion.narrowToF16(values, into: raw)
            case .bf16: ElementConversion.narrowToBF16(values, into: raw)
            default:
                for block in 0..<(values.count / 32) {
                    let x = UnsafeBufferPointer(rebasing: values[(block * 32)..<(block * 32 + 32)])
                    let amax = x.reduce(Float(0)) { max($0, abs($1)) }
                    let d = amax / 127
                    let inverse: Float = d == 0 ? 0 : 1 / d
                    let base = block * 34
                    raw.storeBytes(of: HalfPrecision.floatToF16(d).littleEndian, toByteOffset: base, as: UInt16.self)
                    for j in 0..<32 {
                        let q = (x[j] * inverse).rounded(.toNearestOrAwayFromZero)
                        raw[base + 2 + j] = UInt8(bitPattern: Int8(max(-127, min(127, q))))
                    }
                }
            }
        }
        return out
    }

    private static func padded(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    private static func append<T: FixedWidthInteger>(_ v: T, to data: inout Data) {
        withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) }
    }

    private static func append(string: String, to data: inout Data) {
        let bytes = Array(string.utf8)
        append(UInt64(bytes.count), to: &data)
        data.append(contentsOf: bytes)
    }

    /// Type numbers of ggml `gguf.h` `gguf_type`.
    private static func typeNumber(_ v: GGUFValue) -> UInt32 {
        switch v {
        case .uint8: 0
        case .int8: 1
        case .uint16: 2
        case .int16: 3
        case .uint32: 4
        case .int32: 5
        case .float32: 6
        case .bool: 7
        case .string: 8
        case .array: 9
        case .uint64: 10
        case .int64: 11
        case .float64: 12
        }
    }

    private static func append(value: GGUFValue, to data: inout Data, withType: Bool) {
        if withType { append(typeNumber(value), to: &data) }
        switch value {
        case let .uint8(v): append(v, to: &data)
        case let .int8(v): append(v, to: &data)
        case let .uint16(v): append(v, to: &data)
        case let .int16(v): append(v, to: &data)
        case let .uint32(v): append(v, to: &data)
        case let .int32(v): append(v, to: &data)
        case let .float32(v): append(v.bitPattern, to: &data)
        case let .bool(v): append(UInt8(v ? 1 : 0), to: &data)
        case let .string(s): append(string: s, to: &data)
        case let .uint64(v): append(v, to: &data)
        case let .int64(v): append(v, to: &data)
        case let .float64(v): append(v.bitPattern, to: &data)
        case let .array(items):
            // An empty array is written as an array of uint8; the reader needs no element type then.
            append(items.first.map(typeNumber) ?? 0, to: &data)
            append(UInt64(items.count), to: &data)
            for item in items { append(value: item, to: &data, withType: false) }
        }
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        try file.write(bytes)
        written += bytes.count
    }

    /// Runs `body`; on error removes the temporary file and rethrows.
    private func guarded(_ body: () throws -> Void) throws {
        do { try body() } catch {
            discard()
            throw error
        }
    }

    private func discard() { file.discard() }
}
