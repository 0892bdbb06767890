import CMPI

/// Collectives used by the protocol of docs/design.md §3. Sums of float64 vectors where each rank
/// fills only its own entries (zeros elsewhere) are exact, so every rank ends with identical bits.
extension Communicator {
    public func allreduceSum(_ values: [Double]) throws(MPIError) -> [Double] { try allreduce(values, .sum) }

    public func allreduceMax(_ values: [UInt64]) throws(MPIError) -> [UInt64] { try allreduce(values, .max) }

    public func allreduceMin(_ values: [UInt64]) throws(MPIError) -> [UInt64] { try allreduce(values, .min) }

    /// `root`'s array on every rank, whatever its length (the length goes first, so receivers need
    /// not know it): token ids, run ids, anything only the root has computed.
    public func broadcast<T: MPIScalar>(_ values: [T], root: Int) throws(MPIError) -> [T] {
        var length = [Int64(values.count)]
        try broadcast(&length, root: root)
        var out = rank == root ? values : [T](repeating: .zero, count: Int(length[0]))
        try broadcast(&out, root: root)
        return out
    }

    /// One number from `root` on every rank.
    public func broadcast<T: MPIScalar>(value: T, root: Int) throws(MPIError) -> T {
        var one = [value]
        try broadcast(&one, root: root)
        return one[0]
    }
}

extension Communicator {
    /// Gathers a variable-length array from every rank to `root` (rank order); other ranks get an
    /// empty array. Used for per-rank report fragments, which are small.
    public func gather<T: MPIScalar>(_ values: [T], root: Int) throws(MPIError) -> [[T]] {
        var length = [Int32(values.count)]
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
        var all = [T](repeating: .zero, count: max(total, 1))
        let rc2 = values.withUnsafeBufferPointer { src in
            all.withUnsafeMutableBufferPointer { dst in
                lengths.withUnsafeBufferPointer { counts in
                    displacements.withUnsafeBufferPointer { displs in
                        startAndPoll {
                            MPI_Igatherv(src.baseAddress, Int32(values.count), T.mpiDatatype, dst.baseAddress, counts.baseAddress,
                                         displs.baseAddress, T.mpiDatatype, Int32(root), handle, &$0)
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

extension Communicator {
    /// Every rank's variable-length array on every rank, concatenated in rank order: row shares
    /// of a weight put back together, or a tile's scores from every share (row-parallel SparseGPT).
    public func allgather<T: MPIScalar>(_ values: [T]) throws(MPIError) -> [T] {
        var length = [Int32(values.count)]
        var lengths = [Int32](repeating: 0, count: size)
        let rc1 = length.withUnsafeMutableBufferPointer { src in
            lengths.withUnsafeMutableBufferPointer { dst in
                startAndPoll { MPI_Iallgather(src.baseAddress, 1, MPI_INT32_T, dst.baseAddress, 1, MPI_INT32_T, handle, &$0) }
            }
        }
        try check(rc1, "MPI_Iallgather")
        var displacements = [Int32](repeating: 0, count: size)
        var total = Int(lengths[0])
        for i in 1..<max(size, 1) {
            displacements[i] = displacements[i - 1] + lengths[i - 1]
            total += Int(lengths[i])
        }
        precondition(total < Int(Int32.max), "allgather: \(total) elements exceed one MPI count")
        var all = [T](repeating: .zero, count: max(total, 1))
        let rc2 = values.withUnsafeBufferPointer { src in
            all.withUnsafeMutableBufferPointer { dst in
                lengths.withUnsafeBufferPointer { counts in
                    displacements.withUnsafeBufferPointer { displs in
                        startAndPoll {
                            MPI_Iallgatherv(src.baseAddress, Int32(values.count), T.mpiDatatype, dst.baseAddress, counts.baseAddress,
                                            displs.baseAddress, T.mpiDatatype, handle, &$0)
                        }
                    }
                }
            }
        }
        try check(rc2, "MPI_Iallgatherv")
        return Array(all[..<total])
    }
}
