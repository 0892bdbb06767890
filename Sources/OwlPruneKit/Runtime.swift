import ArgumentParser
import Diagnostics
import Foundation
import MPIKit

/// Process-wide MPI state and the single exit path for errors.
///
/// Under mpiexec (hydra sets `PMI_RANK`) MPI starts before the arguments are parsed, so even a
/// usage error leaves through `MPI_Abort` and can never hang a multi-host job (docs/platform.md:
/// a rank that exits without aborting hangs hydra with several proxies). A plain process starts
/// MPI (singleton, rank 0 of 1) only when a distributed command asks for it.
package enum Runtime {
    nonisolated(unsafe) private static var world: Communicator?
    /// Run by `fail` just before the job is stopped (removing a staging directory).
    nonisolated(unsafe) private static var cleanups: [() -> Void] = []

    /// Registers `body` to run when this rank fails, after its peers have stopped (see `fail`):
    /// removing the shared staging directory while a peer still writes would leave files behind
    /// or make the peer's next write fail with "no such file", a wrong second cause.
    package static func onFailure(_ body: @escaping () -> Void) { cleanups.append(body) }

    package static var launchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["PMI_RANK"] != nil || env["PMI_FD"] != nil || env["PMIX_RANK"] != nil
    }

    package static func communicator() throws -> Communicator {
        if let w = world { return w }
        let w = try Communicator.initializeWorld()
        world = w
        // Ranks that run different BLAS kernels would make results depend on placement (issue 28).
        if w.size > 1 { try BLASKernels.requireAgreement(w) }
        return w
    }

    package static var rank: Int { world?.rank ?? 0 }

    /// What the stop line tells the user to do next (`prune` and `sweep` name their journal).
    package nonisolated(unsafe) static var stopHint: () -> String = { "nothing was written" }

    /// Signals become a stop at the next safe point (`StopSignal`), leaving through `fail`. Call
    /// first thing in `main`.
    package static func installSignalHandlers() {
        StopSignal.install()
        StopSignal.onStop = { signal in fail(StoppedBySignal(signal: signal, hint: stopHint())) }
    }

    /// Prints `owlprune: rank k: <message>` as one write and stops every rank.
    ///
    /// Once per job and nothing written after it (issue 10 item 5): the failing rank first tells
    /// every peer (`FailureNotice.announce`), which stop where they are — at their next MPI wait
    /// or output write — and acknowledge; only then does it print, remove the staging directory
    /// and abort. An error every rank meets (a bad config, a usage error) is reported by the
    /// lowest rank that meets it, rank 0 in practice: a failing rank that hears of a lower
    /// rank's failure stays silent. A peer that does not acknowledge within `peerGrace` seconds
    /// (deep in a computation, so not writing) is stopped by the abort. A plain process
    /// (singleton MPI, not started by mpiexec) has no peers and no process manager to tell, so it
    /// leaves with `_exit` instead of `MPI_Abort` and the user sees one line, not MPICH's
    /// `Abort(1) on node 0 …` banner after it.
    package static func fail(_ error: Error, isUsage: Bool = false) -> Never {
        let code: Int32 = (error as? StoppedBySignal).map { 128 + $0.signal } ?? (isUsage ? 64 : 1)
        let message = describe(error)
        // Every rank parsed the same arguments, so for a usage error rank 0 fails too: give it
        // long enough to announce first.
        if world != nil { FailureNotice.announce(timeout: isUsage ? 5 : Double(peerGrace)) }
        ProgressMeter.close()
        Console.error("owlprune: rank \(rank): \(message)\n")
        for body in cleanups { body() }
        StopSignal.removeRemembered()
        if let w = world, launchedByMPI || w.size > 1 {
            // MPICH prints its own `Abort(…) on node …` line from inside MPI_Abort, after ours:
            // once our line has left the pipe, stderr goes to /dev/null, so the job prints the
            // one line (issue 26 item 5). The abort itself stays: it is what gives mpiexec the
            // status (143 after SIGTERM) on one host and across hosts alike; ending the ranks
            // with the PMI finalize exchange instead made hydra report 0 after a forwarded
            // signal (measured).
            waitForStandardErrorToDrain()
            let null = open("/dev/null", O_WRONLY)
            if null >= 0 { dup2(null, STDERR_FILENO) }
            w.abort(code: code)
        }
        fflush(nil)
        _exit(code)
    }

    /// Seconds a rank other than 0 waits before reporting an error (MPI_Abort of rank 0 reaches
    /// the other ranks of one host in 0.1–0.2 s, of several hosts in under a second, docs/platform.md).
    package static let peerGrace: UInt32 = 2

    /// The message of an error as one printable line. Foundation's file errors become
    /// `<path>: <cause>` instead of an `NSCocoaErrorDomain … UserInfo={…}` dump.
    package static func describe(_ error: Error) -> String {
        let ns = error as NSError
        if ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain {
            let path = (ns.userInfo[NSFilePathErrorKey] as? String) ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
            let verb = ns.domain != NSCocoaErrorDomain ? "" : (512..<768).contains(ns.code) ? "cannot write: "
                : (256..<512).contains(ns.code) ? "cannot read: " : ""
            return printableMessage((path.map { "\($0): " } ?? "") + verb + fileErrorCause(error))
        }
        if let e = error as? LocalizedError, let d = e.errorDescription { return printableMessage(d) }
        return printableMessage(String(describing: error))
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
    package static func finish() {
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
package func progress(_ line: String) {
    guard Runtime.rank == 0 else { return }
    ProgressMeter.close()
    Console.error(line + "\n")
}

/// What the job as a whole prints once (help, version): by rank 0 alone, every rank having parsed
/// the same arguments.
package func printJobResult(_ text: String) {
    guard Runtime.rank == 0 else { return }
    printResult(text)
}

package func printResult(_ text: String) {
    ProgressMeter.close()
    if let code = Console.output(text + "\n") {
        // A result that did not reach its reader must not look like success (issue 26 item 4).
        Runtime.fail(ResultNotWritten(errno: code))
    }
}

/// A stop asked for by a signal: one line, exit status 128 + signal (143 SIGTERM, 130 SIGINT).
package struct StoppedBySignal: Error, LocalizedError {
    package let signal: Int32
    package let hint: String
    package var errorDescription: String? { "stopped by \(StopSignal.name(signal)); \(hint)" }
}

/// A result (`--json`, a table) that could not be written to stdout: a full disk, a closed
/// descriptor, a reader that went away.
package struct ResultNotWritten: Error, LocalizedError {
    package let errno: Int32
    package var errorDescription: String? { "cannot write the result to standard output: \(String(cString: strerror(errno)))" }
}
