import MPIKit
import Tensor

/// Time a rank spent computing, moving data and waiting for its neighbours, for the report and
/// `bench`. `commSeconds` is time inside transfers this rank takes part in (broadcasts of block
/// weights, pruned linears and statistics); `idleSeconds` is time waiting for another rank's work.
public struct PipelineTimings: Sendable, Codable {
    public var busySeconds: Double = 0
    public var idleSeconds: Double = 0
    public var commSeconds: Double = 0
    /// Part of `busySeconds` spent pruning linears (the rest is forward passes, statistics, loads).
    public var solveSeconds: Double = 0
    public var bytesSent: Int = 0
    public init() {}
}

/// Streams windows of hidden states through the ranks, each applying its own contiguous blocks.
///
/// Rank r receives window w from r-1, posts the receive of w+1 before computing, and sends its
/// result on with a non-blocking send, so rank r+1 works on window w while rank r works on w+1
/// (docs/design.md §3 "Streaming"). At most two sends are in flight per rank, bounding memory.
/// Windows are processed in index order on every rank, so anything accumulated along the way is
/// summed in the same order for every rank count — the basis of bit-identical results.
public struct Pipeline {
    public let comm: Communicator
    public let rowsPerWindow: Int
    public let width: Int

    public init(comm: Communicator, rowsPerWindow: Int, width: Int) {
        self.comm = comm
        self.rowsPerWindow = rowsPerWindow
        self.width = width
    }

    public var isFirst: Bool { comm.rank == 0 }
    public var isLast: Bool { comm.rank == comm.size - 1 }

    /// - Parameters:
    ///   - produce: on rank 0, the input of window w (e.g. its embeddings).
    ///   - process: every rank's own blocks applied to window w.
    ///   - consume: on the last rank, what to do with window w's output.
    public func run(windows: Int,
                    produce: (Int) throws -> Matrix,
                    process: (Int, Matrix) throws -> Matrix,
                    consume: (Int, Matrix) throws -> Void) throws -> PipelineTimings {
        var timings = PipelineTimings()
        let count = rowsPerWindow * width
        var pendingRecv: Request? = nil
        var pendingSends: [Request] = []
        if !isFirst && windows > 0 {
            pendingRecv = try comm.irecv(count: count, from: comm.rank - 1, tag: 0)
        }
        for w in 0..<windows {
            var t0 = Communicator.wallTime
            let input: Matrix
            if isFirst {
                input = try produce(w)
            } else {
                let data = try pendingRecv!.wait()
                if w + 1 < windows {
                    pendingRecv = try comm.irecv(count: count, from: comm.rank - 1, tag: tag(w + 1))
                }
                let t1 = Communicator.wallTime
                timings.idleSeconds += t1 - t0
                t0 = t1
                input = Matrix(rows: rowsPerWindow, cols: width, elements: data)
            }
            let output = try process(w, input)
            if isLast {
                try consume(w, output)
                timings.busySeconds += Communicator.wallTime - t0
            } else {
                timings.busySeconds += Communicator.wallTime - t0
                let t2 = Communicator.wallTime
                if pendingSends.count == 2 { _ = try pendingSends.removeFirst().wait() }
                pendingSends.append(try comm.isend(output.elements, to: comm.rank + 1, tag: tag(w)))
                timings.bytesSent += output.count * MemoryLayout<Float>.size
                timings.idleSeconds += Communicator.wallTime - t2
            }
        }
        let t3 = Communicator.wallTime
        for s in pendingSends { _ = try s.wait() }
        timings.idleSeconds += Communicator.wallTime - t3
        return timings
    }

    /// Tags cycle below MPI's guaranteed minimum upper bound (32767); messages between one pair of
    /// ranks are non-overtaking, so reuse is safe.
    private func tag(_ w: Int) -> Int { w % 32_000 }
}
