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
    /// Part of `busySeconds` in the forwards and statistic terms (the FLOP-floor work), timed
    /// where the windows split runs them (`bench prune --breakdown`; other splits leave it 0).
    public var computeSeconds: Double = 0
    /// Part of `busySeconds` scoring blocks for the allocation (OWL's outlier ratios, DLP).
    public var scoreSeconds: Double = 0
    /// Time writing the resume journal, waits for other ranks' parts excluded (they are idle).
    public var journalSeconds: Double = 0
    /// Seconds of loads, journal records and output writes that ran alongside a forward
    /// (`Parallel.alongside`) and so are inside `computeSeconds` too: the phases minus this sum
    /// to the wall (`bench prune --breakdown` prints it as `overlapped`).
    public var overlapSeconds: Double = 0
    public var bytesSent: Int = 0
    public init() {}
}

/// Streams windows of hidden states through the ranks, each applying its own contiguous blocks.
///
/// Rank r receives window w from r-1, posts the receive of w+1 before computing, and sends its
/// result on with a non-blocking send (`WindowStream`), so rank r+1 works on window w while rank
/// r works on w+1 (docs/design.md §3 "Streaming").
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
        var stream = WindowStream(comm: comm, rowsPerWindow: rowsPerWindow, width: width, channel: .dense)
        var pending: PendingWindow? = nil
        if !isFirst && windows > 0 { pending = try stream.receive(0) }
        for w in 0..<windows {
            var t0 = Communicator.wallTime
            let input: Matrix
            if isFirst {
                input = try produce(w)
            } else {
                input = try pending!.wait()
                if w + 1 < windows { pending = try stream.receive(w + 1) }
                let t1 = Communicator.wallTime
                timings.idleSeconds += t1 - t0
                t0 = t1
            }
            let output = try process(w, input)
            if isLast {
                try consume(w, output)
                timings.busySeconds += Communicator.wallTime - t0
            } else {
                timings.busySeconds += Communicator.wallTime - t0
                timings.idleSeconds += try stream.send(w, output)
                timings.bytesSent += output.count * MemoryLayout<Float>.size
            }
        }
        timings.idleSeconds += try stream.drain()
        return timings
    }
}
