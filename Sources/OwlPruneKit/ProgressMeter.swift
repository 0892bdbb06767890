import Diagnostics
import Distribution
import Foundation

/// Rank 0's running job meter (`JobProgress` lines). On a terminal each line replaces the last one
/// in place (carriage return, erase line), so a 30-block prune is one line that counts up; to a
/// file or pipe (a batch job's log, mpiexec's forwarding) each is a plain line, since a log with
/// carriage returns reads as garbage. Any other progress line first ends the meter's line.
package enum ProgressMeter {
    nonisolated(unsafe) private static var open = false
    private static let inPlace = isatty(STDERR_FILENO) == 1

    package static func show(_ line: String) {
        StopSignal.checkpoint()  // every unit of work finished is a safe point for a signal
        guard Runtime.rank == 0 else { return }
        guard inPlace else { return progress(line) }
        Console.error("\r\u{1B}[2K" + line)
        open = true
    }

    /// Ends an in-place line before anything else is written to stderr.
    package static func close() {
        guard open else { return }
        open = false
        Console.error("\n")
    }
}
