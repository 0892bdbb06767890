import ArgumentParser
import Foundation
import MPIKit

/// Process-wide MPI state and the single exit path for errors.
///
/// Under mpiexec (hydra sets `PMI_RANK`) MPI starts before the arguments are parsed, so even a
/// usage error leaves through `MPI_Abort` and can never hang a multi-host job (docs/platform.md:
/// a rank that exits without aborting hangs hydra with several proxies). A plain process starts
/// MPI (singleton, rank 0 of 1) only when a distributed command asks for it.
enum Runtime {
    nonisolated(unsafe) private static var world: Communicator?

    static var launchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["PMI_RANK"] != nil || env["PMI_FD"] != nil || env["PMIX_RANK"] != nil
    }

    static func communicator() throws -> Communicator {
        if let w = world { return w }
        let w = try Communicator.initializeWorld()
        world = w
        return w
    }

    static var rank: Int { world?.rank ?? 0 }

    /// Prints `owlprune: rank k: <message>` as one write and stops every rank.
    /// Usage errors are identical on every rank, so only rank 0 prints them.
    static func fail(_ error: Error, isUsage: Bool = false) -> Never {
        let code: Int32 = isUsage ? 64 : 1
        let message = describe(error)
        if !isUsage || rank == 0 {
            FileHandle.standardError.write(Data("owlprune: rank \(rank): \(message)\n".utf8))
        } else {
            // Every rank parsed the same arguments, so rank 0 fails too: let its abort (and its
            // message) win the race; abort ourselves only if it somehow does not come.
            sleep(5)
        }
        if let w = world { w.abort(code: code) }
        exit(code)
    }

    static func describe(_ error: Error) -> String {
        if let e = error as? LocalizedError, let d = e.errorDescription { return d }
        return String(describing: error)
    }

    /// Ends a successful run. With more than one rank this is a barrier, a flush, the PMI
    /// finalize exchange with hydra (`releaseProcessManager`) and `_exit(0)` instead of
    /// `MPI_Finalize`: Debian 12's MPICH 4.0.2 over UCX/TCP can deadlock inside `MPI_Finalize`
    /// when ranks sit on different hosts (one rank waits in finalize's barrier while a peer waits
    /// for it to acknowledge a connection close; fixed upstream in pmodels/mpich#6596, measured
    /// here in 1 of 3 three-host eval runs and 8 of 10 ring tests). Without the PMI exchange the
    /// first rank to leave made hydra SIGKILL its slower peers (mpiexec exit 9 after a complete
    /// run). Every output is complete and renamed before this point, so skipping finalize loses
    /// nothing.
    ///
    /// `OWLPRUNE_TEST_EXIT_DELAY_MS` (tests only) holds every rank but 0 back that long before it
    /// leaves, so a test can prove that ranks may leave in any order.
    static func finish() {
        guard let w = world else { return }
        if w.size > 1 {
            try? w.barrier()
            fflush(nil)
            releaseProcessManager()
            if w.rank != 0, let ms = ProcessInfo.processInfo.environment["OWLPRUNE_TEST_EXIT_DELAY_MS"].flatMap(UInt32.init) {
                usleep(ms * 1000)
            }
            _exit(0)
        }
        Communicator.finalize()
    }
}

/// Progress goes to stderr from rank 0 only, one write per line so lines from different ranks
/// never interleave mid-line; stdout stays free for results (`--json`).
func progress(_ line: String) {
    guard Runtime.rank == 0 else { return }
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

func printResult(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
