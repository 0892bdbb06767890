import Diagnostics
import Foundation
import Tensor

/// Calibration windows (docs/algorithms.md §2): N windows of L tokens from one token stream, starts
/// drawn with SplitMix64 as `next() mod (T − L + 1)` in window order. Windows may overlap or repeat.
/// Unlike the references (C4 documents, Python's Mersenne Twister), this can be reproduced bit for
/// bit anywhere from the seed, the file and the tokenizer.
public struct CalibrationWindows: Sendable, Equatable {
    public let length: Int
    /// Start of each window in the token stream; nil when read pre-tokenized (`--calib-tokens`).
    public let starts: [Int]?
    /// N × L token ids, window after window.
    public let tokens: [Int]

    public var count: Int { tokens.count / length }

    public func window(_ w: Int) -> [Int] { Array(tokens[(w * length)..<((w + 1) * length)]) }

    public static func sample(stream: [Int], count: Int, length: Int, seed: UInt64, file: String) throws -> CalibrationWindows {
        guard stream.count >= length else { throw CalibrationError.textTooShort(file: file, tokens: stream.count, seqlen: length) }
        var generator = SplitMix64(seed: seed)
        let range = UInt64(stream.count - length + 1)
        var starts: [Int] = []
        var tokens: [Int] = []
        tokens.reserveCapacity(count * length)
        for _ in 0..<count {
            let s = Int(generator.next() % range)
            starts.append(s)
            tokens += stream[s..<(s + length)]
        }
        return CalibrationWindows(length: length, starts: starts, tokens: tokens)
    }

    /// Consecutive, non-overlapping windows of `length` tokens cut from `tokens` in order (a
    /// held-out tail: `--train-heldout-windows`); the remainder shorter than a window is dropped.
    public static func consecutive(_ tokens: [Int], length: Int) -> CalibrationWindows {
        CalibrationWindows(length: length, starts: nil, tokens: Array(tokens.prefix(tokens.count / length * length)))
    }

    /// Pre-tokenized windows: a file of exactly N × L little-endian uint32 ids.
    public static func read(idsFile url: URL, count: Int, length: Int, vocabulary: Int) throws -> CalibrationWindows {
        let data: Data
        do { data = Data(try InputFile.bytes(url.path)) } catch {
            throw CalibrationError.unreadable(file: url.path, reason: fileErrorCause(error))
        }
        guard data.count == count * length * 4 else {
            throw CalibrationError.badTokenFile(file: url.path, bytes: data.count, expected: count * length * 4, count: count, length: length)
        }
        let ids = data.withUnsafeBytes { raw in (0..<(count * length)).map { Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) } }
        if let bad = ids.firstIndex(where: { $0 >= vocabulary }) {
            throw CalibrationError.tokenOutOfRange(file: url.path, index: bad, id: ids[bad], vocabulary: vocabulary)
        }
        return CalibrationWindows(length: length, starts: nil, tokens: ids)
    }

    /// FNV-1a 64 over the window tokens, recorded in the plan so a run's calibration data can be
    /// recognised elsewhere without shipping the windows.
    public var hash: String {
        var h = FNV1a()
        for t in tokens {
            var v = UInt32(t).littleEndian
            for _ in 0..<4 {
                h.combine(UInt8(v & 0xFF))
                v >>= 8
            }
        }
        return String(format: "%016llx", h.value)
    }
}

public enum CalibrationError: Error, LocalizedError {
    case textTooShort(file: String, tokens: Int, seqlen: Int)
    case unreadable(file: String, reason: String)
    case badTokenFile(file: String, bytes: Int, expected: Int, count: Int, length: Int)
    case tokenOutOfRange(file: String, index: Int, id: Int, vocabulary: Int)

    public var errorDescription: String? {
        switch self {
        case let .textTooShort(f, t, l): "--calib \(f) tokenizes to \(t) tokens, fewer than one window of --seqlen \(l)"
        case let .unreadable(f, r): "--calib-tokens \(f): \(r)"
        case let .badTokenFile(f, b, e, n, l):
            "--calib-tokens \(f) has \(b) bytes; --nsamples \(n) × --seqlen \(l) uint32 ids need \(e)"
        case let .tokenOutOfRange(f, i, id, v): "--calib-tokens \(f): id \(id) at index \(i) is outside the vocabulary of \(v)"
        }
    }
}
