import Foundation
import Tensor

/// A read-only safetensors file: 8-byte little-endian header length, JSON header, data
/// (docs/design.md §5). The file is memory-mapped and the header fully validated on open; tensor data
/// is read only when asked for, so opening a shard costs its header pages and nothing more.
public final class SafetensorsFile: Sendable {
    public let url: URL
    /// The tensors in file order: sorted by data offset (ties, i.e. empty tensors, by name).
    /// This is the order a streaming copy reads the data in.
    public let tensorNames: [String]
    /// `__metadata__` (string → string); empty when absent.
    public let metadata: [String: String]
    /// File offset of the data section: 8 + header length.
    public let dataStart: Int

    private let mapped: MappedFile
    private let infos: [String: TensorInfo]

    public init(url: URL) throws {
        self.url = url
        mapped = try MappedFile(url: url)
        let file = mapped.name
        guard mapped.byteCount >= 8 else { throw CheckpointError.fileTooShort(file: file, byteCount: mapped.byteCount) }
        let headerLength = mapped.withBytes(0..<8) { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(mapped.byteCount - 8) else {
            throw CheckpointError.headerPastEnd(file: file, headerLength: headerLength, fileSize: mapped.byteCount)
        }
        dataStart = 8 + Int(headerLength)
        let json = mapped.withBytes(8..<dataStart) { Data($0) }
        let header = try SafetensorsHeader(json: json, dataBytes: mapped.byteCount - dataStart, file: file)
        tensorNames = header.tensors.map(\.name)
        metadata = header.metadata
        infos = Dictionary(uniqueKeysWithValues: header.tensors.map { ($0.name, $0) })
    }

    /// The file name used in error messages.
    public var fileName: String { mapped.name }

    public func contains(_ name: String) -> Bool { infos[name] != nil }

    public func info(_ name: String) -> TensorInfo? { infos[name] }

    /// The tensor as float32: a 1-D tensor becomes 1×n, a 2-D tensor rows×cols, and higher ranks
    /// fold every leading dimension into the rows (the last dimension stays the columns).
    public func matrix(_ name: String) throws -> Matrix {
        let info = try require(name)
        guard info.dtype.isFloatConvertible else {
            throw CheckpointError.unsupportedConversion(file: fileName, tensor: name, dtype: info.dtype.rawValue)
        }
        let cols = info.shape.last ?? 1
        let rows = info.shape.count <= 1 ? 1 : info.shape.dropLast().reduce(1, *)
        // `widen` writes every element, so the buffer is not zero-filled first.
        var result = Matrix(uninitializedRows: rows, cols: cols)
        try withRawBytes(name) { bytes in
            result.withUnsafeMutableElements { out in Self.widen(info.dtype, bytes, into: out) }
        }
        return result
    }

    /// Rows `indices` of a 2-D tensor as float32 (an embedding lookup without converting the
    /// whole table); the table's pages are released afterwards.
    public func rows(_ name: String, _ indices: [Int]) throws -> Matrix {
        let info = try require(name)
        guard info.dtype.isFloatConvertible, info.shape.count == 2 else {
            throw CheckpointError.unsupportedConversion(file: fileName, tensor: name, dtype: info.dtype.rawValue)
        }
        let (count, cols, size) = (info.shape[0], info.shape[1], info.dtype.byteSize)
        if let bad = indices.first(where: { $0 < 0 || $0 >= count }) {
            throw CheckpointError.rowOutOfRange(file: fileName, tensor: name, row: bad, rows: count)
        }
        var result = Matrix(rows: indices.count, cols: cols)
        try withRawBytes(name) { bytes in
            result.withUnsafeMutableElements { out in
                for (r, i) in indices.enumerated() {
                    let src = UnsafeRawBufferPointer(rebasing: bytes[(i * cols * size)..<((i + 1) * cols * size)])
                    Self.widen(info.dtype, src, into: UnsafeMutableBufferPointer(rebasing: out[(r * cols)..<((r + 1) * cols)]))
                }
            }
        }
        return result
    }

    /// Float32 from one of the float dtypes (callers have checked `isFloatConvertible`).
    private static func widen(_ dtype: SafetensorsDType, _ src: UnsafeRawBufferPointer, into dst: UnsafeMutableBufferPointer<Float>) {
        switch dtype {
        case .f32: ElementConversion.widenF32(src, into: dst)
        case .f16: ElementConversion.widenF16(src, into: dst)
        case .bf16: ElementConversion.widenBF16(src, into: dst)
        default: preconditionFailure("\(dtype) is not a float dtype")
        }
    }

    private func byteRange(_ info: TensorInfo) -> Range<Int> {
        (dataStart + info.dataOffsets.lowerBound)..<(dataStart + info.dataOffsets.upperBound)
    }

    /// Lends the tensor's stored bytes (little-endian, in its dtype) for copying or inspection;
    /// the buffer is valid only inside `body`. Tensors are read once, so the pages are released
    /// afterwards (see `MappedFile.release`).
    public func withRawBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let info = try require(name)
        let range = byteRange(info)
        defer { mapped.release(range) }
        return try mapped.withBytes(range, body)
    }

    /// A copy of the tensor's stored bytes.
    public func data(_ name: String) throws -> Data {
        try withRawBytes(name) { Data($0) }
    }

    /// The fraction of elements equal to zero (for floats, +0 and −0 both count), in any dtype.
    /// `owlprune inspect` uses it to report the sparsity a checkpoint actually stores.
    public func zeroFraction(_ name: String) throws -> Double {
        let info = try require(name)
        guard info.elementCount > 0 else { return 0 }
        let size = info.dtype.byteSize
        let isFloat: Bool = switch info.dtype {
        case .f16, .bf16, .f32, .f64, .f8e4m3, .f8e5m2: true
        default: false
        }
        let zeros = try withRawBytes(name) { bytes -> Int in
            var count = 0
            switch size {
            case 1:
                let mask: UInt8 = isFloat ? 0x7F : 0xFF
                for i in 0..<info.elementCount where bytes[i] & mask == 0 { count += 1 }
            case 2:
                let mask: UInt16 = isFloat ? 0x7FFF : 0xFFFF
                for i in 0..<info.elementCount
                where UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) & mask == 0 {
                    count += 1
                }
            case 4:
                let mask: UInt32 = isFloat ? 0x7FFF_FFFF : 0xFFFF_FFFF
                for i in 0..<info.elementCount
                where UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) & mask == 0 {
                    count += 1
                }
            default:
                let mask: UInt64 = isFloat ? 0x7FFF_FFFF_FFFF_FFFF : .max
                for i in 0..<info.elementCount
                where UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)) & mask == 0 {
                    count += 1
                }
            }
            return count
        }
        return Double(zeros) / Double(info.elementCount)
    }

    private func require(_ name: String) throws -> TensorInfo {
        guard let info = infos[name] else { throw CheckpointError.tensorNotFound(file: fileName, tensor: name) }
        return info
    }
}
