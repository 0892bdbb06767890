import Diagnostics
import Foundation
import Tensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a safetensors file tensor by tensor, so a shard never has to be held in memory whole.
/// The header is written first (every tensor's name, dtype and shape is known up front), then the
/// data in the same order, into a temporary file beside `dest` (`AtomicFile`); `finish()` renames it onto `dest`
/// atomically. Any error, or dropping the writer before `finish()`, removes the temporary file,
/// so a reader never sees half a shard.
///
/// Header layout follows huggingface/safetensors `safetensors/src/tensor.rs` (`prepare`):
/// `__metadata__` first, data offsets contiguous from 0, JSON padded with spaces to a multiple
/// of 8 bytes. `{"format": "pt"}` is always in the metadata, because transformers refuses
/// files without it.
public final class SafetensorsWriter {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var dtype: SafetensorsDType
        public var shape: [Int]
        public init(name: String, dtype: SafetensorsDType, shape: [Int]) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
        }
        public var byteCount: Int { shape.reduce(dtype.byteSize, *) }
    }

    public let destination: URL
    public let temporaryURL: URL
    /// The temporary file, put in place by `finish()` (`AtomicFile`: the one POSIX write path).
    private let file: AtomicFile
    private let entries: [Entry]
    private var next = 0
    private var fileName: String { destination.lastPathComponent }
    /// Whether `finish()` fsyncs before the rename (see `init`).
    private let durable: Bool

    /// Creates the temporary file and writes the header. Tensors must then be written in
    /// `entries` order.
    /// - Parameter durable: fsync before the rename. Outputs are durable; the resume journal
    ///   passes false, because its entries carry checksums that catch data a crash lost, and an
    ///   fsync per block stalls the windows split's lockstep (docs/design.md §3 "Output").
    public init(url: URL, entries: [Entry], metadata: [String: String] = [:], durable: Bool = true) throws {
        self.durable = durable
        destination = url
                self.entries = entries
        let file = url.lastPathComponent
        var seen = Set<String>()
        for e in entries {
            guard seen.insert(e.name).inserted, e.name != SafetensorsHeader.metadataKey else {
                throw CheckpointError.writerMismatch(file: file, tensor: e.name, reason: "name used twice or reserved")
            }
            guard e.shape.allSatisfy({ $0 >= 0 }) else {
                throw CheckpointError.writerMismatch(file: file, tensor: e.name, reason: "negative dimension in \(e.shape)")
            }
        }
        self.file = try AtomicFile(beside: url)
        temporaryURL = self.file.url
        var meta = metadata
        meta["format"] = meta["format"] ?? "pt"
        let header = Self.headerJSON(entries: entries, metadata: meta)
        var prefix = Data(count: 8)
        prefix.withUnsafeMutableBytes { $0.storeBytes(of: UInt64(header.count).littleEndian, as: UInt64.self) }
        try guarded { try writeAll(prefix + header) }
    }

    /// Writes the next tensor from float32, narrowing to its entry's dtype (bf16 rounds to
    /// nearest even, as `HalfPrecision.floatToBF16`). The matrix must hold exactly the entry's
    /// elements; for a 2-D entry its rows and columns must match too.
    public func write(_ name: String, _ matrix: Matrix) throws {
        let entry = try expect(name)
        try guarded {
            try Self.checkWritable(matrix, as: entry, file: fileName)
            try Self.encodeChunks(matrix, as: entry.dtype) { try writeAll($0) }
        }
        next += 1
    }

    /// Writes the next tensor's bytes unchanged (already in its entry's dtype, little-endian),
    /// e.g. a norm weight copied from the source checkpoint.
    public func write(_ name: String, rawBytes: Data) throws {
        try rawBytes.withUnsafeBytes { try write(name, rawBuffer: $0) }
    }

    /// Raw bytes straight from another mapping (a tensor copied unchanged), without a copy in memory.
    public func write(_ name: String, rawBuffer: UnsafeRawBufferPointer) throws {
        let entry = try expect(name)
        try guarded {
            guard rawBuffer.count == entry.byteCount else {
                throw CheckpointError.writerMismatch(file: fileName, tensor: name,
                                                     reason: "\(rawBuffer.count) bytes given, \(entry.byteCount) expected")
            }
            try writeAll(rawBuffer)
        }
        next += 1
    }

    /// Flushes, closes and renames the temporary file onto the destination.
    public func finish() throws {
        try guarded {
            guard next == entries.count else {
                throw CheckpointError.writerMismatch(file: fileName, tensor: entries[next].name,
                                                     reason: "finish() called before this tensor was written")
            }
            try file.commit(durable: durable)
        }
    }

    private func expect(_ name: String) throws -> Entry {
        StopSignal.checkpoint()
        return try guarded {
            guard file.isOpen else { throw CheckpointError.writerMismatch(file: fileName, tensor: name, reason: "writer is closed") }
            guard next < entries.count, entries[next].name == name else {
                let expected = next < entries.count ? "'\(entries[next].name)'" : "no more tensors"
                throw CheckpointError.writerMismatch(file: fileName, tensor: name, reason: "written out of order, expected \(expected)")
            }
            return entries[next]
        }
    }

    /// Runs `body`; on error, removes the temporary file before rethrowing.
    private func guarded<R>(_ body: () throws -> R) throws -> R {
        do { return try body() } catch {
            discard()
            throw error
        }
    }

    private func discard() { file.discard() }

    private func writeAll(_ data: Data) throws {
        try data.withUnsafeBytes { try writeAll($0) }
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        try file.write(bytes)
    }

    static func headerJSON(entries: [Entry], metadata: [String: String]) -> Data {
        var json = "{\"\(SafetensorsHeader.metadataKey)\":{"
        json += metadata.sorted { $0.key < $1.key }.map { "\(jsonStringLiteral($0.key)):\(jsonStringLiteral($0.value))" }.joined(separator: ",")
        json += "}"
        var offset = 0
        for e in entries {
            let end = offset + e.byteCount
            let shape = e.shape.map(String.init).joined(separator: ",")
            json += ",\(jsonStringLiteral(e.name)):{\"dtype\":\"\(e.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}"
            offset = end
        }
        json += "}"
        var bytes = Data(json.utf8)
        bytes.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - bytes.count % 8) % 8))
        return bytes
    }
}
