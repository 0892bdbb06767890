import CMPI

/// MPI counts are Int32; collectives over longer arrays go in pieces of at most 2^30 elements.
private let maxPiece = 1 << 30

/// Generic collectives over `MPIScalar` arrays. Buffers are lent to MPI only inside the closure
/// that owns them and the call completes before it returns, so no pointer outlives its array.
extension Communicator {
    /// Replaces `values` on every rank by `root`'s. Every rank must pass an array of the same
    /// length (the protocol always knows it: tensor shapes, block counts).
    public func broadcast<T: MPIScalar>(_ values: inout [T], root: Int) throws(MPIError) {
        let n = values.count
        var start = 0
        while start < n {
            let count = min(maxPiece, n - start)
            let rc = values.withUnsafeMutableBufferPointer { p in
                startAndPoll { MPI_Ibcast(p.baseAddress! + start, Int32(count), T.mpiDatatype, Int32(root), handle, &$0) }
            }
            try check(rc, "MPI_Ibcast")
            start += count
        }
    }

    /// Element-wise reduction over all ranks; every rank gets the result.
    public func allreduce<T: MPIScalar>(_ values: [T], _ operation: ReduceOperation) throws(MPIError) -> [T] {
        var out = values
        let n = values.count
        var start = 0
        while start < n {
            let count = min(maxPiece, n - start)
            let rc = out.withUnsafeMutableBufferPointer { p in
                startAndPoll {
                    MPI_Iallreduce(cmpi_in_place(), p.baseAddress! + start, Int32(count), T.mpiDatatype, operation.handle,
                                   handle, &$0)
                }
            }
            try check(rc, "MPI_Iallreduce")
            start += count
        }
        return out
    }
}
