import Diagnostics
import Foundation

/// Every failure of the Checkpoint module. Each message is one line that already names the file
/// and, where there is one, the tensor, key or field, so the CLI can print it unchanged
/// (docs/style.md "Errors"; unlike swift-transformers' `Weights.swift`, bad entries are never skipped).
public enum CheckpointError: Error, LocalizedError, Equatable {
    // MARK: Files
    case system(call: String, path: String, errno: Int32)
    case unreadable(path: String, reason: String)
    case unwritable(path: String, reason: String)

    // MARK: safetensors
    case fileTooShort(file: String, byteCount: Int)
    case headerPastEnd(file: String, headerLength: UInt64, fileSize: Int)
    case headerNotJSON(file: String, reason: String)
    case unknownDtype(file: String, tensor: String, dtype: String)
    case badTensorField(file: String, tensor: String, field: String, reason: String)
    case spanSizeMismatch(file: String, tensor: String, dtype: String, shape: [Int], spanBytes: Int, expectedBytes: Int)
    case tensorOutOfBounds(file: String, tensor: String, end: Int, dataBytes: Int)
    case overlappingTensors(file: String, tensor: String, span: Range<Int>, other: String, otherSpan: Range<Int>)
    case tensorNotFound(file: String, tensor: String)
    case unsupportedConversion(file: String, tensor: String, dtype: String)
    case writerMismatch(file: String, tensor: String, reason: String)

    // MARK: Sharded directories
    case missingShard(file: String, shard: String)
    case tensorNotInShard(file: String, tensor: String, shard: String)
    case badIndex(file: String, reason: String)

    // MARK: config.json
    case configMissingField(file: String, field: String)
    case configInvalid(file: String, field: String, reason: String)

    // MARK: GGUF
    case ggufMalformed(file: String, reason: String)
    case ggufUnknownTensorType(file: String, tensor: String, type: UInt32)
    case ggufBadTensor(file: String, tensor: String, reason: String)
    case ggufMissingKey(file: String, key: String)
    case ggufKeyType(file: String, key: String, expected: String, found: String)
    case ggufUnsupported(file: String, reason: String)
    case ggufOverlappingTensors(file: String, tensor: String, span: Range<Int>, other: String, otherSpan: Range<Int>)

    // MARK: Any format
    case duplicateKey(file: String, key: String, path: String)
    case nonFiniteWeight(file: String, tensor: String, index: Int, value: Float)
    case sizeOverflow(file: String, what: String)
    case rowOutOfRange(file: String, tensor: String, row: Int, rows: Int)

    /// A Foundation file error (`Data(contentsOf:)`, `FileManager`) as `<path>: cannot read|write: <cause>`.
    public static func fileSystem(_ error: any Error, path: String, writing: Bool = true) -> CheckpointError {
        if let own = error as? CheckpointError { return own }
        return writing ? .unwritable(path: path, reason: fileErrorCause(error)) : .unreadable(path: path, reason: fileErrorCause(error))
    }

    /// One printable line: names read from files are escaped (`printableLine`), so a crafted
    /// tensor name can neither break the line nor send terminal escapes.
    public var errorDescription: String? { printableLine(text) }

    private var text: String {
        switch self {
        case let .system(call, path, code):
            "\(path): \(call) failed: \(String(cString: strerror(code)))"
        case let .unreadable(path, reason):
            "\(path): cannot read: \(reason)"
        case let .unwritable(path, reason):
            "\(path): cannot write: \(reason)"
        case let .fileTooShort(f, n):
            "\(f): file is \(n) bytes, shorter than the 8-byte header length"
        case let .headerPastEnd(f, len, size):
            "\(f): header length \(len) runs past the end of the \(size)-byte file"
        case let .headerNotJSON(f, reason):
            "\(f): header is not a valid JSON object: \(reason)"
        case let .unknownDtype(f, t, d):
            "\(f): tensor '\(t)' has unknown dtype '\(d)'"
        case let .badTensorField(f, t, field, reason):
            "\(f): tensor '\(t)': \(field): \(reason)"
        case let .spanSizeMismatch(f, t, d, shape, span, expected):
            "\(f): tensor '\(t)' (\(d) \(shape)) needs \(expected) bytes but data_offsets span \(span)"
        case let .tensorOutOfBounds(f, t, end, n):
            "\(f): tensor '\(t)' ends at byte \(end), past the \(n)-byte data section"
        case let .overlappingTensors(f, t, s, o, os):
            "\(f): tensor '\(t)' spans bytes \(s.lowerBound)..\(s.upperBound), overlapping '\(o)' (\(os.lowerBound)..\(os.upperBound))"
        case let .tensorNotFound(f, t):
            "\(f): no tensor named '\(t)'"
        case let .unsupportedConversion(f, t, d):
            "\(f): tensor '\(t)' has dtype \(d), which cannot be converted to or from float32"
        case let .writerMismatch(f, t, reason):
            "\(f): tensor '\(t)': \(reason)"
        case let .missingShard(f, s):
            "\(f): shard '\(s)' does not exist"
        case let .tensorNotInShard(f, t, s):
            "\(f): tensor '\(t)' is mapped to shard '\(s)', which does not contain it"
        case let .badIndex(f, reason):
            "\(f): \(reason)"
        case let .configMissingField(f, field):
            "\(f): missing required field '\(field)'"
        case let .configInvalid(f, field, reason):
            "\(f): \(field): \(reason)"
        case let .ggufMalformed(f, reason):
            "\(f): \(reason)"
        case let .ggufUnknownTensorType(f, t, type):
            GGMLType.foreignName(type).map { "\(f): tensor '\(t)' has ggml type \($0) (\(type)), which owlprune cannot read" }
                ?? "\(f): tensor '\(t)' has unknown or unsupported ggml type \(type)"
        case let .ggufBadTensor(f, t, reason):
            "\(f): tensor '\(t)': \(reason)"
        case let .ggufMissingKey(f, k):
            "\(f): missing metadata key '\(k)'"
        case let .ggufKeyType(f, k, expected, found):
            "\(f): metadata key '\(k)' is \(found), expected \(expected)"
        case let .ggufUnsupported(f, reason):
            "\(f): \(reason)"
        case let .ggufOverlappingTensors(f, t, s, o, os):
            "\(f): data of tensor '\(t)' (bytes \(s.lowerBound)..\(s.upperBound)) overlaps tensor '\(o)' (\(os.lowerBound)..\(os.upperBound))"
        case let .duplicateKey(f, k, path):
            "\(f): key '\(k)' appears twice\(path.isEmpty ? "" : " in \(path)") (readers disagree on which copy wins)"
        case let .nonFiniteWeight(f, t, i, v):
            "\(f): tensor '\(t)' holds \(v) at element \(i); weights must be finite"
        case let .sizeOverflow(f, what):
            "\(f): \(what) overflows a 64-bit size"
        case let .rowOutOfRange(f, t, row, rows):
            "\(f): tensor '\(t)': row \(row) asked for, but it has \(rows) rows (a token id outside the embedding table)"
        }
    }
}
