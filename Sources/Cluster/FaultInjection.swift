import Foundation

/// Test hook for the fault suite (issue 10 item 7): `OWLPRUNE_FAULT_KILL_AT=<point>` makes the
/// rank that reaches `point` kill itself with SIGKILL, like an OOM kill or a lost node would, at
/// a chosen phase: a progress line's prefix (`statistics: block 3`, `prune: block 2`), `write
/// block N` (before block N enters the shard), `renamed` (after `OUT/` appears, before the
/// journal is removed) or `sweep: recorded <cell>` (after a sweep cell's result is journaled). `OWLPRUNE_FAULT_KILL_RANK=r` limits it to rank r. Unset, it costs one
/// dictionary lookup per run.
public enum FaultInjection {
    private static let target: (point: String, rank: Int?)? = {
        let env = ProcessInfo.processInfo.environment
        guard let point = env["OWLPRUNE_FAULT_KILL_AT"], !point.isEmpty else { return nil }
        return (point, env["OWLPRUNE_FAULT_KILL_RANK"].flatMap(Int.init))
    }()

    public static func point(_ name: String, rank: Int) {
        guard let target, name.hasPrefix(target.point), target.rank == nil || target.rank == rank else { return }
        fflush(nil)
        kill(getpid(), SIGKILL)
    }
}
