import MPIKit

extension CalibrationWindows {
    /// Rank 0's windows on every rank. Only rank 0 reads the calibration text and runs the
    /// tokenizer; the others receive the ids: `[N, L, hasStarts, starts…, tokens…]` as
    /// little-endian UInt32.
    public static func broadcast(_ windows: CalibrationWindows?, comm: Communicator) throws -> CalibrationWindows {
        var words: [UInt32] = []
        if comm.rank == 0, let w = windows {
            words = [UInt32(w.count), UInt32(w.length), w.starts == nil ? 0 : 1]
            words += (w.starts ?? []).map { UInt32($0) }
            words += w.tokens.map { UInt32($0) }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(words.count * 4)
        for v in words { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        let shared = try comm.broadcast(bytes, root: 0)
        if comm.rank == 0, let w = windows { return w }
        var decoded = [Int](repeating: 0, count: shared.count / 4)
        for i in decoded.indices {
            var v = UInt32(shared[4 * i])
            v |= UInt32(shared[4 * i + 1]) << 8
            v |= UInt32(shared[4 * i + 2]) << 16
            v |= UInt32(shared[4 * i + 3]) << 24
            decoded[i] = Int(v)
        }
        let (n, length, hasStarts) = (decoded[0], decoded[1], decoded[2] == 1)
        let startsEnd = 3 + (hasStarts ? n : 0)
        return CalibrationWindows(length: length, starts: hasStarts ? Array(decoded[3..<startsEnd]) : nil,
                                  tokens: Array(decoded[startsEnd...]))
    }
}
