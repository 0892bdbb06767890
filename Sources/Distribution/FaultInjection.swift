import Diagnostics
import Foundation
import MPIKit

/// Test hook for the fault suite (issue 10 item 7): `OWLPRUNE_FAULT_KILL_AT=<point>` makes the
/// rank that reaches `point` kill itself with SIGKILL, like an OOM kill or a lost node would, at
/// a chosen phase: a progress line's prefix (`statistics: block 3`, `prune: block 2`), `write
/// block N` (before block N enters the shard), `journaled block N` (after the rank that owns
/// block N journaled it), `renamed` (after `OUT/` appears, before the
/// journal is removed), `streamline: journaled step N` (after training step N's state is journaled) or `sweep: recorded <cell>` (after a sweep cell's result is journaled). `OWLPRUNE_FAULT_KILL_RANK=r` limits it to rank r. Unset, it costs one
/// dictionary lookup per run.
public enum FaultInjection {
    private static let target: (point: String, rank: Int?)? = {
        let env = ProcessInfo.processInfo.environment
        guard let point = env["OWLPRUNE_FAULT_KILL_AT"], !point.isEmpty else { return nil }
        return (point, env["OWLPRUNE_FAULT_KILL_RANK"].flatMap(Int.init))
    }()

    /// `OWLPRUNE_FAULT_PAUSE_AT=<point>` (with the same optional `OWLPRUNE_FAULT_KILL_RANK`): the
    /// rank that reaches `point` prints `owlprune-test: paused at <point> (rank r, pid p)` and
    /// waits there up to a minute, checking for signals and failed peers, so the signal suite can
    /// stop a job at a chosen phase, from outside, as a scheduler or a user would (issue 26 item 6).
    private static let pause: (point: String, rank: Int?)? = {
        let env = ProcessInfo.processInfo.environment
        guard let point = env["OWLPRUNE_FAULT_PAUSE_AT"], !point.isEmpty else { return nil }
        return (point, env["OWLPRUNE_FAULT_KILL_RANK"].flatMap(Int.init))
    }()
    nonisolated(unsafe) private static var paused = false

    public static func point(_ name: String, rank: Int) {
        if let pause, !paused, name.hasPrefix(pause.point), pause.rank == nil || pause.rank == rank {
            paused = true
            Console.error("owlprune-test: paused at \(name) (rank \(rank), pid \(getpid()))\n")
            // `OWLPRUNE_FAULT_PAUSE_CHECKS=0`: pause like a long computation with no safe point in
            // it, so a test can send a second signal or wait for the grace period.
            let checks = ProcessInfo.processInfo.environment["OWLPRUNE_FAULT_PAUSE_CHECKS"] != "0"
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                if checks {
                    StopSignal.checkpoint()
                    FailureNotice.stopIfPeerFailed()
                }
                usleep(10_000)
            }
        }
        guard let target, name.hasPrefix(target.point), target.rank == nil || target.rank == rank else { return }
        fflush(nil)
        kill(getpid(), SIGKILL)
    }
}
