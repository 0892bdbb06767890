import MPIKit

extension CalibrationWindows {
    /// Rank 0's windows on every rank. Only rank 0 reads the calibration text and runs the
    /// tokenizer; the others receive the ids: `[N, L, hasStarts, starts…, tokens…]`.
    public static func broadcast(_ windows: CalibrationWindows?, comm: Communicator) throws -> CalibrationWindows {
        var words: [Int] = []
        if comm.rank == 0, let w = windows {
            words = [w.count, w.length, w.starts == nil ? 0 : 1] + (w.starts ?? []) + w.tokens
        }
        let shared = try comm.broadcast(words, root: 0)
        if comm.rank == 0, let w = windows { return w }
        let (n, length, hasStarts) = (shared[0], shared[1], shared[2] == 1)
        let startsEnd = 3 + (hasStarts ? n : 0)
        return CalibrationWindows(length: length, starts: hasStarts ? Array(shared[3..<startsEnd]) : nil,
                                  tokens: Array(shared[startsEnd...]))
    }
}
