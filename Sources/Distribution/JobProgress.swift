import Foundation
import MPIKit

/// Whole-job progress for rank 0: phase, unit k/N (blocks, or windows in the dense pipeline),
/// windows, tokens/s and an ETA over all passes of the job (OWL's statistics pass and the pruning
/// pass each visit every block), not just the units of the rank that prints. Units are counted as
/// they finish, in any order: in the blocks split they are reported by the ranks that own them
/// (`ProgressRelay`).
public final class JobProgress {
    public let phase: String
    /// What is counted ("block", "window") and how many there are per pass.
    public let unit: String
    public let units: Int
    public let windows: Int
    /// Tokens processed per finished unit (0: pruning work, no tokens/s shown).
    public let tokensPerUnit: Int
    /// Passes over the units in the whole job and how many came before this one.
    public let passes: Int
    public let pass: Int
    public let report: (String) -> Void
    public let started: Double
    private(set) var done = 0

    public init(phase: String, unit: String = "block", units: Int, windows: Int, tokensPerUnit: Int, passes: Int = 1, pass: Int = 0,
         started: Double, report: @escaping (String) -> Void) {
        self.phase = phase
        self.unit = unit
        self.units = units
        self.windows = windows
        self.tokensPerUnit = tokensPerUnit
        self.passes = passes
        self.pass = pass
        self.started = started
        self.report = report
    }

    /// Unit `index` (0-based) finished.
    public func finished(_ index: Int) {
        done += 1
        report(line(index: index, elapsed: Communicator.wallTime - started))
    }

    /// "prune: block 14/30 (pass 2/2), 128 windows, 5120 tokens/s, elapsed 61.0 s, ETA 70.4 s";
    /// "(last 12)" follows the count when the unit that finished is not the count's own.
    public func line(index: Int, elapsed: Double) -> String {
        let overall = pass * units + done, total = passes * units
        let eta = elapsed / Double(max(overall, 1)) * Double(total - overall)
        let passText = passes > 1 ? " (pass \(pass + 1)/\(passes))" : ""
        let last = index + 1 == done ? "" : " (last \(index + 1))"
        let rate = tokensPerUnit == 0 ? "" : String(format: ", %.0f tokens/s", Double(overall * tokensPerUnit) / max(elapsed, 1e-9))
        return String(format: "%@: %@ %d/%d%@%@, %d windows%@, elapsed %.1f s, ETA %.1f s",
                      phase, unit, done, units, last, passText, windows, rate, elapsed, eta)
    }
}
