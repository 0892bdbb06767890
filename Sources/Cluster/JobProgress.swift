import Foundation
import MPIKit

/// Whole-job progress for rank 0: phase, block k/B, windows, tokens/s and an ETA over all
/// passes of the job (OWL's statistics pass and the pruning pass each visit every block), not
/// just the blocks of the rank that prints. In the windows split rank 0 works on every block, so
/// its view is the job's.
struct JobProgress {
    let phase: String
    let blocks: Int
    let windows: Int
    let tokensPerWindow: Int
    /// Block passes in the whole job and how many came before this one.
    let passes: Int
    let pass: Int
    let report: (String) -> Void
    let started: Double

    init(phase: String, blocks: Int, windows: Int, tokensPerWindow: Int, passes: Int, pass: Int, started: Double,
         report: @escaping (String) -> Void) {
        self.phase = phase
        self.blocks = blocks
        self.windows = windows
        self.tokensPerWindow = tokensPerWindow
        self.passes = passes
        self.pass = pass
        self.started = started
        self.report = report
    }

    func finished(block index: Int) {
        let elapsed = Communicator.wallTime - started
        let done = pass * blocks + index + 1, total = passes * blocks
        let eta = elapsed / Double(done) * Double(total - done)
        let tokens = Double(done * windows * tokensPerWindow)
        report(String(format: "%@: block %d/%d (pass %d/%d), %d windows, %.0f tokens/s, elapsed %.1f s, ETA %.1f s",
                      phase, index + 1, blocks, pass + 1, passes, windows, tokens / max(elapsed, 1e-9), elapsed, eta))
    }
}
