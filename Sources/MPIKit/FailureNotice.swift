import CMPI
import Foundation

/// How a rank that meets a fatal error stops its peers *before* it cleans up and aborts (issue 10
/// item 5), so that nothing is written after the error and the one line printed is the real cause.
///
/// Without it, rank k's `MPI_Abort` came after a grace period during which rank 0 went on writing
/// its shard and metadata into `OUT.tmp-*`: the staging directory, removed by k, reappeared or
/// lost its `rmdir` to a file created meanwhile (a leftover), or rank 0's next write failed with
/// "no such file" and rank 0 printed that instead (measured before this change: see the commit).
///
/// The protocol, on a private duplicate of the world communicator so it never matches a job
/// message:
/// 1. the failing rank sends a one-integer notice to every other rank (`announce`);
/// 2. every rank checks for notices wherever it waits for MPI (`pollUntilDone`) and before it
///    writes output (`stopIfPeerFailed`); one that finds a notice acknowledges it and parks,
///    printing nothing, until the failing rank's `MPI_Abort` ends it;
/// 3. the failing rank waits until every peer has acknowledged (or `timeout`, for a peer deep in
///    a computation, which writes nothing until its next check), then reports, cleans up and aborts.
/// When several ranks fail at once (a bad argument every rank parses), the lowest one reports:
/// a failing rank that receives a notice from a lower rank parks like any other peer.
public enum FailureNotice {
    nonisolated(unsafe) private static var channel: MPI_Comm = MPI_COMM_NULL
    nonisolated(unsafe) private static var rank = 0
    nonisolated(unsafe) private static var size = 1
    private static let noticeTag: Int32 = 1
    private static let ackTag: Int32 = 2

    /// Called once by `Communicator.initializeWorld`.
    static func setUp() {
        guard channel == MPI_COMM_NULL else { return }
        var dup: MPI_Comm = MPI_COMM_NULL
        guard MPI_Comm_dup(MPI_COMM_WORLD, &dup) == MPI_SUCCESS else { return }
        MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN)
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(dup, &r)
        MPI_Comm_size(dup, &s)
        channel = dup
        rank = Int(r)
        size = Int(s)
    }

    /// The lowest rank whose notice has arrived, receiving every pending notice.
    private static func receiveNotices() -> Int? {
        guard channel != MPI_COMM_NULL, size > 1 else { return nil }
        var lowest: Int? = nil
        while true {
            var flag: Int32 = 0
            var status = MPI_Status()
            guard MPI_Iprobe(MPI_ANY_SOURCE, noticeTag, channel, &flag, &status) == MPI_SUCCESS, flag != 0 else { break }
            var value: Int32 = 0
            MPI_Recv(&value, 1, MPI_INT, status.MPI_SOURCE, noticeTag, channel, cmpi_status_ignore())
            lowest = min(lowest ?? Int(value), Int(value))
        }
        return lowest
    }

    /// Parks this rank if a peer has announced a failure; call before writing output.
    public static func stopIfPeerFailed() {
        if let failed = receiveNotices() { park(acknowledging: failed) }
    }

    /// Acknowledges `failed`'s notice and waits to be stopped by its abort, printing nothing.
    /// If the abort never comes (the failing rank died first), leave after a minute: hydra then
    /// sees a failed rank and ends the job.
    private static func park(acknowledging failed: Int) -> Never {
        var value = Int32(rank)
        var request: MPI_Request = MPI_REQUEST_NULL
        MPI_Isend(&value, 1, MPI_INT, Int32(failed), ackTag, channel, &request)
        let deadline = MPI_Wtime() + 60
        var flag: Int32 = 0
        while MPI_Wtime() < deadline {
            if request != MPI_REQUEST_NULL { MPI_Test(&request, &flag, cmpi_status_ignore()) }
            usleep(1000)
        }
        _exit(1)
    }

    /// Step 1 and 3 for the failing rank: announce, then wait up to `timeout` seconds for every
    /// peer's acknowledgement. Returns only if this rank is to report the failure (no lower rank
    /// failed too); otherwise it parks. A singleton returns at once.
    public static func announce(timeout: Double) {
        guard channel != MPI_COMM_NULL, size > 1 else { return }
        var value = Int32(rank)
        var requests: [MPI_Request] = []
        for peer in 0..<size where peer != rank {
            var request: MPI_Request = MPI_REQUEST_NULL
            if MPI_Isend(&value, 1, MPI_INT, Int32(peer), noticeTag, channel, &request) == MPI_SUCCESS {
                requests.append(request)
            }
        }
        var acknowledged = Set<Int>()
        let deadline = MPI_Wtime() + timeout
        while acknowledged.count < size - 1 && MPI_Wtime() < deadline {
            if let lower = receiveNotices(), lower < rank { park(acknowledging: lower) }
            var flag: Int32 = 0
            var status = MPI_Status()
            if MPI_Iprobe(MPI_ANY_SOURCE, ackTag, channel, &flag, &status) == MPI_SUCCESS, flag != 0 {
                var peer: Int32 = 0
                MPI_Recv(&peer, 1, MPI_INT, status.MPI_SOURCE, ackTag, channel, cmpi_status_ignore())
                acknowledged.insert(Int(peer))
                continue
            }
            for i in requests.indices where requests[i] != MPI_REQUEST_NULL {
                MPI_Test(&requests[i], &flag, cmpi_status_ignore())
            }
            usleep(500)
        }
    }

    /// The check inside MPI waits: a rank blocked on a peer that has failed would otherwise sit
    /// there until the abort and never acknowledge.
    static func checkWhileWaiting() {
        guard size > 1 else { return }
        stopIfPeerFailed()
    }
}
