import CMPI

/// Collectives used by the protocol of docs/design.md §3. Sums of float64 vectors where each rank
/// fills only its own entries (zeros elsewhere) are exact, so every rank ends with identical bits.
extension Communicator {
    public func allreduceSum(_ values: [Double]) throws(MPIError) -> [Double] { try allreduce(values, .sum) }

    public func allreduceMax(_ values: [UInt64]) throws(MPIError) -> [UInt64] { try allreduce(values, .max) }

    public func allreduceMin(_ values: [UInt64]) throws(MPIError) -> [UInt64] { try allreduce(values, .min) }

    /// Broadcasts raw bytes from `root` (length first, so receivers need not know it).
    public func broadcast(_ bytes: [UInt8], root: Int) throws(MPIError) -> [UInt8] {
        var length = [UInt64(bytes.count)]
        let rc1 = length.withUnsafeMutableBufferPointer { p in
            startAndPoll { MPI_Ibcast(p.baseAddress, 1, MPI_UINT64_T, Int32(root), handle, &$0) }
        }
        try check(rc1, "MPI_Ibcast")
        var out = rank == root ? bytes : [UInt8](repeating: 0, count: Int(length[0]))
        if out.isEmpty { return out }
        let n = Int32(out.count)
        let rc2 = out.withUnsafeMutableBufferPointer { p in
            startAndPoll { MPI_Ibcast(p.baseAddress, n, MPI_UINT8_T, Int32(root), handle, &$0) }
        }
        try check(rc2, "MPI_Ibcast")
        return out
    }
}

extension Communicator {
    /// Gathers a variable-length byte string from every rank to `root` (rank order); other ranks
    /// get an empty array. Used for per-rank report fragments, which are small.
    public func gatherBytes(_ bytes: [UInt8], root: Int) throws(MPIError) -> [[UInt8]] {
        var length = [Int32(bytes.count)]
        var lengths = [Int32](repeating: 0, count: size)
        let rc1 = length.withUnsafeMutableBufferPointer { src in
            lengths.withUnsafeMutableBufferPointer { dst in
                startAndPoll { MPI_Igather(src.baseAddress, 1, MPI_INT32_T, dst.baseAddress, 1, MPI_INT32_T, Int32(root), handle, &$0) }
            }
        }
        try check(rc1, "MPI_Igather")
        var displacements = [Int32](repeating: 0, count: size)
        for i in 1..<max(size, 1) { displacements[i] = displacements[i - 1] + lengths[i - 1] }
        let total = rank == root ? Int(lengths.reduce(0, +)) : 0
        var all = [UInt8](repeating: 0, count: max(total, 1))
        let rc2 = bytes.withUnsafeBufferPointer { src in
            all.withUnsafeMutableBufferPointer { dst in
                lengths.withUnsafeBufferPointer { counts in
                    displacements.withUnsafeBufferPointer { displs in
                        startAndPoll {
                            MPI_Igatherv(src.baseAddress, Int32(bytes.count), MPI_UINT8_T, dst.baseAddress, counts.baseAddress,
                                         displs.baseAddress, MPI_UINT8_T, Int32(root), handle, &$0)
                        }
                    }
                }
            }
        }
        try check(rc2, "MPI_Igatherv")
        guard rank == root else { return [] }
        return (0..<size).map { r in
            Array(all[Int(displacements[r])..<Int(displacements[r] + lengths[r])])
        }
    }
}
