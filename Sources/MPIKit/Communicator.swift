import CMPI
import Foundation

/// MPI_COMM_WORLD as a value. owlprune is a synchronous program: MPI is initialised on the main
/// thread and every MPI call stays there (MPI_THREAD_FUNNELED), overlap comes from non-blocking
/// point-to-point operations, not from Swift concurrency.
public struct Communicator: Sendable {
    public let handle: MPI_Comm
    public let rank: Int
    public let size: Int

    /// Initialises MPI once per process (a plain process becomes rank 0 of 1, the singleton mode
    /// MPICH supports without mpiexec) and switches the world to MPI_ERRORS_RETURN.
    public static func initializeWorld() throws(MPIError) -> Communicator {
        var flag: Int32 = 0
        try check(MPI_Initialized(&flag), "MPI_Initialized")
        if flag == 0 {
            var provided: Int32 = 0
            try check(MPI_Init_thread(nil, nil, Int32(MPI_THREAD_FUNNELED), &provided), "MPI_Init_thread")
        }
        try check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler")
        var r: Int32 = 0
        var s: Int32 = 0
        try check(MPI_Comm_rank(MPI_COMM_WORLD, &r), "MPI_Comm_rank")
        try check(MPI_Comm_size(MPI_COMM_WORLD, &s), "MPI_Comm_size")
        FailureNotice.setUp()
        return Communicator(handle: MPI_COMM_WORLD, rank: Int(r), size: Int(s))
    }

    public static func finalize() {
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        if finalized == 0 { MPI_Finalize() }
    }

    /// Stops every rank of the job. docs/platform.md: a rank that merely exits can leave a multi-host
    /// mpiexec hanging forever, so every fatal path ends here.
    public func abort(code: Int32) -> Never {
        waitForStandardErrorToDrain()
        MPI_Abort(handle, code)
        exit(code)
    }

    public var isRoot: Bool { rank == 0 }

    public var processorName: String {
        var buffer = [CChar](repeating: 0, count: Int(MPI_MAX_PROCESSOR_NAME) + 1)
        var length: Int32 = 0
        MPI_Get_processor_name(&buffer, &length)
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public func barrier() throws(MPIError) {
        try check(startAndPoll { MPI_Ibarrier(handle, &$0) }, "MPI_Ibarrier")
    }

    public static var wallTime: Double { MPI_Wtime() }
}

extension Communicator {
    /// How many ranks of this job share this rank's node (MPI_COMM_TYPE_SHARED), to split the
    /// node's cores between them.
    public func ranksOnThisNode() throws(MPIError) -> Int {
        var local: MPI_Comm = MPI_COMM_NULL
        try check(MPI_Comm_split_type(handle, Int32(MPI_COMM_TYPE_SHARED), Int32(rank), MPI_INFO_NULL, &local),
                  "MPI_Comm_split_type")
        defer { MPI_Comm_free(&local) }
        var n: Int32 = 0
        try check(MPI_Comm_size(local, &n), "MPI_Comm_size")
        return Int(n)
    }
}
