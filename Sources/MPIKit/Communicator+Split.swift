import CMPI

extension Communicator {
    /// The ranks that pass the same `color` as one new communicator, ordered by `key` (ties by
    /// rank), with errors returned as for the world. `owlprune sweep` runs independent cells on
    /// such groups (issue 14 item 3); a group's results equal a job of the group's size alone,
    /// because nothing in owlprune reads the world size but through the communicator it is given.
    /// The caller frees it with `free()` once its last operation on it has completed; an error
    /// path leaves it to the process's end (freeing is collective, and a failing rank's peers may
    /// never reach it).
    public func split(color: Int, key: Int) throws(MPIError) -> Communicator {
        var group: MPI_Comm = MPI_COMM_NULL
        try check(MPI_Comm_split(handle, Int32(color), Int32(key), &group), "MPI_Comm_split")
        try check(MPI_Comm_set_errhandler(group, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler")
        var r: Int32 = 0
        var s: Int32 = 0
        try check(MPI_Comm_rank(group, &r), "MPI_Comm_rank")
        try check(MPI_Comm_size(group, &s), "MPI_Comm_size")
        return Communicator(handle: group, rank: Int(r), size: Int(s))
    }

    /// Releases a communicator made by `split`, on every rank of it, after the last operation on
    /// it has completed (MPI_Comm_free is collective). The world is never freed.
    public func free() throws(MPIError) {
        guard handle != MPI_COMM_WORLD else { return }
        var local = handle
        try check(MPI_Comm_free(&local), "MPI_Comm_free")
    }
}
