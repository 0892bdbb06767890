import Foundation
import Tensor
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one retry loop the writers share (SafetensorsWriter, SafetensorsShardFile, GGUFWriter):
/// `write(2)`/`pwrite(2)` may write less than asked or be interrupted, so keep going until every
/// byte is out, and turn a failure into a `CheckpointError` naming the file.
enum FileDescriptorWrite {
    /// Writes all of `bytes` at the descriptor's position (`offset` nil) or at `offset`.
    static func all(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int? = nil, path: String) throws {
        var done = 0
        while done < bytes.count {
            let base = bytes.baseAddress! + done, count = bytes.count - done
            let n: Int
            if let offset {
                n = pwrite(fd, base, count, off_t(offset + done))
            } else {
                #if canImport(Glibc)
                n = Glibc.write(fd, base, count)
                #else
                n = Darwin.write(fd, base, count)
                #endif
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw CheckpointError.system(call: offset == nil ? "write" : "pwrite", path: path, errno: errno)
            }
            done += n
        }
    }

    /// Flushes the file to disk (when `durable`) and closes the descriptor: the end of every
    /// written file, put in place by `AtomicFile` or filled in place by `SafetensorsShardFile`.
    /// The descriptor is closed even when the flush fails.
    static func syncAndClose(_ fd: Int32, durable: Bool = true, path: String) throws {
        if durable && fsync(fd) != 0 {
            let code = errno
            close(fd)
            throw CheckpointError.system(call: "fsync", path: path, errno: code)
        }
        guard close(fd) == 0 else { throw CheckpointError.system(call: "close", path: path, errno: errno) }
    }
}

extension SafetensorsWriter {
    /// A float32 matrix in `dtype`'s little-endian bytes, handed to `body` 64 Ki elements at a
    /// time so a large tensor is never converted whole (bf16 rounds to nearest even).
    /// `elements` limits it to a range of the matrix's elements (a piece of a parallel write).
    static func encodeChunks(_ matrix: Matrix, as dtype: SafetensorsDType, elements: Range<Int>? = nil,
                             _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let chunk = 1 << 16
        var buffer = [UInt8](repeating: 0, count: chunk * dtype.byteSize)
        try matrix.withUnsafeElements { all in
            let range = elements ?? 0..<all.count
            var start = range.lowerBound
            while start < range.upperBound {
                let part = UnsafeBufferPointer(rebasing: all[start..<min(start + chunk, range.upperBound)])
                let bytes = part.count * dtype.byteSize
                try buffer.withUnsafeMutableBytes { raw in
                    let out = UnsafeMutableRawBufferPointer(rebasing: raw[0..<bytes])
                    switch dtype {
                    case .f32: ElementConversion.narrowToF32(part, into: out)
                    case .f16: ElementConversion.narrowToF16(part, into: out)
                    default: ElementConversion.narrowToBF16(part, into: out)
                    }
                    try body(UnsafeRawBufferPointer(out))
                }
                start += part.count
            }
        }
    }

    /// The checks `write(_:_:)` makes before converting: a float dtype, and the matrix holds the
    /// entry's elements (for a 2-D entry, its rows and columns).
    static func checkWritable(_ matrix: Matrix, as entry: Entry, file: String) throws {
        guard entry.dtype.isFloatConvertible else {
            throw CheckpointError.unsupportedConversion(file: file, tensor: entry.name, dtype: entry.dtype.rawValue)
        }
        let shapeMatches = entry.shape.count == 2
            ? entry.shape == [matrix.rows, matrix.cols]
            : entry.shape.reduce(1, *) == matrix.count
        guard shapeMatches else {
            throw CheckpointError.writerMismatch(file: file, tensor: entry.name,
                                                 reason: "shape \(entry.shape) given a \(matrix.rows)x\(matrix.cols) matrix")
        }
    }
}
