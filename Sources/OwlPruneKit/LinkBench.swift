import MPIKit

/// `owlprune bench link`'s measurement: the broadcast bandwidth between the ranks of this job, the
/// link rate `bench cluster` feeds its scaling model, measured rather than assumed (time inside
/// a prune's collectives also holds waits for slower ranks, so it cannot stand in for the link).
package enum LinkBench {
    /// Seconds per broadcast of `megabytes` MB (after one warm-up, the roots taking turns), on
    /// rank 0; nil on the other ranks.
    package static func secondsPerBroadcast(comm: Communicator, megabytes: Int, repetitions: Int) throws -> Double? {
        var buffer = [Float](repeating: Float(comm.rank), count: megabytes * 1_000_000 / 4)
        try comm.broadcast(&buffer, root: 0)
        try comm.barrier()
        let t0 = Communicator.wallTime
        for i in 0..<repetitions { try comm.broadcast(&buffer, root: i % comm.size) }
        try comm.barrier()
        let seconds = (Communicator.wallTime - t0) / Double(max(repetitions, 1))
        return comm.rank == 0 ? seconds : nil
    }
}
