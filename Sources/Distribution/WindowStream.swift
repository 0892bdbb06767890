import MPIKit
import Tensor

/// Message tags of one job, in one place. Window streams own disjoint ranges (a window's tag is
/// its channel's base plus its index modulo `span`); between one pair of ranks messages do not
/// overtake, so a tag reused `span` windows later cannot be confused. All stay below MPI's
/// guaranteed minimum upper bound for tags (32767).
public enum MessageTag {
    /// Windows per channel before tags repeat.
    public static let span = 10_000
    /// The window-order statistics chain (`WindowOrderChain`).
    public static let statisticsChain = 31_000
    /// Block-progress notes to rank 0 (`ProgressRelay`).
    public static let progress = 31_001
    /// The window-order chain of ReplaceMe's float64 sums (`DepthSearch.streamline`).
    public static let replaceMeChain = 31_002
    /// The window-order chain of a streamline training step's gradient sum (`StreamlineTrainer`).
    public static let streamlineChain = 31_003
}

/// Which stream of windows a message belongs to. A job may run two streams one after the other
/// (OWL's dense statistics pass, then the pruned propagation) and they never share tags.
public enum StreamChannel: Int, Sendable {
    /// Dense activations: OWL's statistics pass, dense propagation, `eval`.
    case dense = 0
    /// Pruned hidden states of sequential propagation in the blocks split.
    case pruned = 10_000
}

/// Hidden states of calibration or evaluation windows flowing rank r−1 → r → r+1, one message per
/// window (docs/design.md §3 "Streaming"). The single transport of both the blocks split's
/// pipeline (`Pipeline`, also `eval`) and its sequential propagation: receives are posted ahead,
/// and at most `maxInFlight` sends are outstanding per rank, bounding memory while the next rank
/// catches up. Requests own their buffers, so nothing in flight can be freed under MPI.
public struct WindowStream {
    public let comm: Communicator
    public let rowsPerWindow: Int
    public let width: Int
    public let channel: StreamChannel
    public static let maxInFlight = 2
    private var inFlight: [Request<Float>] = []

    public init(comm: Communicator, rowsPerWindow: Int, width: Int, channel: StreamChannel) {
        self.comm = comm
        self.rowsPerWindow = rowsPerWindow
        self.width = width
        self.channel = channel
    }

    func tag(_ w: Int) -> Int { channel.rawValue + w % MessageTag.span }

    /// Posts the receive of window `w` from the previous rank.
    public func receive(_ w: Int) throws -> PendingWindow {
        PendingWindow(request: try comm.irecv(count: rowsPerWindow * width, from: comm.rank - 1, tag: tag(w)),
                      rows: rowsPerWindow, cols: width)
    }

    /// Sends window `w`'s output to the next rank; returns the seconds spent waiting for an
    /// earlier send to drain (the next rank being behind).
    @discardableResult
    public mutating func send(_ w: Int, _ x: Matrix) throws -> Double {
        let t = Communicator.wallTime
        if inFlight.count == Self.maxInFlight { _ = try inFlight.removeFirst().wait() }
        let waited = Communicator.wallTime - t
        inFlight.append(try comm.isend(x.elements, to: comm.rank + 1, tag: tag(w)))
        return waited
    }

    /// Waits for every outstanding send; returns the seconds waited.
    @discardableResult
    public mutating func drain() throws -> Double {
        let t = Communicator.wallTime
        for r in inFlight { _ = try r.wait() }
        inFlight = []
        return Communicator.wallTime - t
    }
}

/// A window on its way from the previous rank.
public struct PendingWindow {
    let request: Request<Float>
    let rows: Int
    let cols: Int

    public func wait() throws -> Matrix { Matrix(rows: rows, cols: cols, elements: try request.wait()) }
}
