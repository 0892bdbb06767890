import Distribution
import MPIKit
import Model
import Pruning
import Tensor

/// Combines the statistic terms of windows spread over ranks (each rank a contiguous share, in
/// rank order) into the statistics of all windows, **bit-identical** to one rank folding every
/// window in index order — for any rank count and thread count.
///
/// Why it is exact. The reference's statistics are running means (Wanda's `S`, SparseGPT's
/// `H ← H·n/(n+1) + Y·Yᵀ`, DSnoT's `m` and `v`), a left fold over windows in float32. Float
/// arithmetic is not associative, so partial results of different ranks cannot be added; but
/// nothing has to be re-associated. Each window's update splits into a *term* that depends on that
/// window alone (`‖X_j‖²`, the product `Y·Yᵀ`, column sums and variances: the L-proportional
/// work) and a cheap *fold* step. Terms are computed wherever the window lives — the same code
/// on the same window gives the same bits on any rank or thread. The fold's running state then
/// travels as a rank-order chain: rank 0 folds its windows 0…a−1 from the empty state and sends
/// the state to rank 1, which folds a…b−1, and so on; the last rank broadcasts the result. The
/// sequence of fold operations, and every operand, is literally the one-rank sequence; only the
/// process that executes each step changes. `--threads` relies on the same rule (terms of a batch
/// of windows in parallel, folded in window order), so both splits and all thread counts agree.
///
/// Cost: the fold is O(columns) per window for Wanda and DSnoT and O(columns²) for the Hessian
/// (one multiply-add per element against the product's L·columns²), and the state crosses
/// R−1 links plus one broadcast per block. A rank past the first keeps its windows' terms until
/// the state arrives; for SparseGPT that is columns² floats per window and linear input
/// (`MemoryBudget` counts it).
struct WindowOrderChain {
    let comm: Communicator
    /// Tokens per window (DSnoT's token count of the incoming state is windows × length).
    let length: Int

    static let tag = MessageTag.statisticsChain

    /// - Parameters:
    ///   - statistics: empty statistics of the block (what to collect); replaced by the result.
    ///   - terms: this rank's windows' terms in window order.
    ///   - firstWindow: the index of this rank's first window (the state it receives has seen
    ///     exactly the windows before it).
    ///   - totalWindows: windows over all ranks.
    func combine(_ statistics: inout BlockStatistics, terms: [BlockStatistics.Term], firstWindow: Int, totalWindows: Int,
                 timings: inout PipelineTimings) throws {
        let size = statistics.flattenedCount
        if comm.rank > 0 {
            let t = Communicator.wallTime
            let state = try comm.recv(count: size, from: comm.rank - 1, tag: Self.tag)
            timings.idleSeconds += Communicator.wallTime - t
            statistics.restore(state, windows: firstWindow, tokensPerWindow: length)
        }
        precondition(statistics.windowCount == firstWindow, "chain: state has \(statistics.windowCount) windows, expected \(firstWindow)")
        for term in terms { statistics.fold(term) }
        if comm.size == 1 { return }
        var final = [Float](repeating: 0, count: size)
        if comm.rank < comm.size - 1 {
            let state = statistics.flattened()
            let t = Communicator.wallTime
            try comm.send(state, to: comm.rank + 1, tag: Self.tag)
            timings.commSeconds += Communicator.wallTime - t
            timings.bytesSent += state.count * 4
        } else {
            final = statistics.flattened()
        }
        let t = Communicator.wallTime
        try comm.broadcast(&final, root: comm.size - 1)
        timings.commSeconds += Communicator.wallTime - t
        if comm.rank == comm.size - 1 { timings.bytesSent += final.count * 4 * (comm.size - 1) }
        statistics.restore(final, windows: totalWindows, tokensPerWindow: length)
    }
}

extension BlockStatistics {
    /// Floats in the flattened running state (Wanda `S`, then `H`, then DSnoT `m`, `v` per input).
    public var flattenedCount: Int {
        Self.inputOrder.reduce(0) { n, input in
            let s = byInput[input]!, c = s.columns
            return n + c + (s.hessian != nil ? c * c : 0) + (s.dsnot != nil ? 2 * c : 0)
        }
    }

    public func flattened() -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(flattenedCount)
        for input in Self.inputOrder {
            let s = byInput[input]!
            out += s.wanda.scalerRow
            if let h = s.hessian { out += h.hessian.elements }
            if let d = s.dsnot { out += d.sumMetric; out += d.variance }
        }
        return out
    }

    /// The state after `windows` windows of `tokensPerWindow` tokens, from `flattened()`.
    public mutating func restore(_ state: [Float], windows: Int, tokensPerWindow: Int) {
        var at = 0
        func take(_ n: Int) -> [Float] {
            defer { at += n }
            return Array(state[at..<(at + n)])
        }
        for input in Self.inputOrder {
            var s = byInput[input]!
            let c = s.columns
            s.wanda.scalerRow = take(c)
            s.wanda.windowCount = windows
            if s.hessian != nil {
                s.hessian!.hessian = Matrix(rows: c, cols: c, elements: take(c * c))
                s.hessian!.windowCount = windows
            }
            if s.dsnot != nil {
                s.dsnot!.sumMetric = take(c)
                s.dsnot!.variance = take(c)
                s.dsnot!.windowCount = windows
                s.dsnot!.tokenCount = windows * tokensPerWindow
            }
            byInput[input] = s
        }
    }
}
