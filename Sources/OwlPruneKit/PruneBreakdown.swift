import Cluster
import Foundation
import MPIKit

/// Where one rank's whole prune command went (`bench prune --breakdown`, issue 29 item 1): every
/// phase timed directly at its boundaries, so that what the phases do not cover shows as
/// `unaccounted` instead of being folded into one of them.
///
/// - startup: argument checks, opening the checkpoint, building the job and the output (the
///   process launch and MPI's own start are before the command and not seen from inside it);
/// - read: reading and converting (dequantizing) block weights and the windows' embedding rows;
/// - tokenize: rank 0's tokenizer load, tokenizing and window sampling;
/// - compute: the forwards and statistic terms (the FLOP-floor work), the chain's folding included;
/// - select: the solvers and selection of the method, block scoring and the plan;
/// - share: collectives and waits for other ranks (statistics chain, weights, pruned linears,
///   the windows' broadcast, the output's start barrier);
/// - journal: the resume journal's records (waits for other ranks' parts are `share`);
/// - write: output shards, index and auxiliary files;
/// - finish: the report's gather, the closing barriers and the rename;
/// - overlapped: seconds of read, journal and write that ran alongside a block's forward
///   (`Parallel.alongside`): counted in their phases and in `compute`, so subtracted once.
package struct PruneBreakdown {
    package static let phases = ["startup", "read", "tokenize", "compute", "select", "share", "journal", "write", "finish"]
    package static let labels = ["start-up", "read + dequantize", "tokenize", "forwards + terms", "selection + solver",
                         "sharing + waits", "journal", "write", "finish"]

    /// Seconds per phase, in `phases` order.
    package var seconds: [Double]
    /// The rank's wall time of the whole command, measured on its own.
    package var wall: Double
    /// Seconds counted in two phases at once because they ran at the same time.
    package var overlapped: Double

    package var accounted: Double { seconds.reduce(0, +) - overlapped }
    package var unaccounted: Double { wall - accounted }

    package init(seconds: [Double], overlapped: Double, wall: Double) {
        precondition(seconds.count == Self.phases.count, "PruneBreakdown: \(seconds.count) phases")
        self.seconds = seconds
        self.overlapped = overlapped
        self.wall = wall
    }

    /// - Parameters:
    ///   - prepare: seconds from the command's start to the job's run that are neither
    ///     tokenizing nor the windows' broadcast nor the output's `begin`.
    package init(wall: Double, prepare: Double, tokenize: Double, windowsShare: Double,
         result: PruneResult, output: PruneOutput.OutputTimes) {
        let t = result.timings, p = result.times
        self.init(seconds: [
            prepare,
            p.load,
            tokenize,
            t.computeSeconds,
            t.solveSeconds + t.scoreSeconds + p.plan,
            t.commSeconds + t.idleSeconds + windowsShare + (output.begin - output.writeInBegin),
            t.journalSeconds,
            output.writeInBegin + output.writeInRun + output.writeInFinish,
            output.finish - output.writeInFinish,
        ], overlapped: t.overlapSeconds, wall: wall)
    }

    /// Every rank's breakdown on rank 0 (nil elsewhere), in rank order.
    package func gathered(_ comm: Communicator) throws -> [PruneBreakdown]? {
        let all = try comm.gather(seconds + [overlapped, wall], root: 0)
        guard comm.rank == 0 else { return nil }
        return all.map { PruneBreakdown(seconds: Array($0.dropLast(2)), overlapped: $0[$0.count - 2], wall: $0.last!) }
    }

    package static func json(_ ranks: [PruneBreakdown], floorSeconds: Double) -> [[String: Any]] {
        ranks.enumerated().map { r, b in
            var byPhase: [String: Any] = [:]
            for (name, s) in zip(phases, b.seconds) { byPhase[name] = ["seconds": s, "share": s / b.wall] }
            return ["rank": r, "wall_seconds": b.wall, "phases": byPhase, "overlapped_seconds": b.overlapped,
                    "unaccounted_seconds": b.unaccounted,
                    "floor_seconds": floorSeconds, "floor_share": floorSeconds / b.wall]
        }
    }

    /// The text table: one row per phase, one column per rank (seconds and share of that rank's wall).
    package static func table(_ ranks: [PruneBreakdown], floorSeconds: Double) -> String {
        var lines = [String(format: "  breakdown per rank (seconds, share of the rank's wall); FLOP floor %.2f s beside it:", floorSeconds)]
        let header = "    " + "phase".padding(toLength: 20, withPad: " ", startingAt: 0)
            + ranks.indices.map { "rank \($0)".padding(toLength: 18, withPad: " ", startingAt: 0) }.joined()
        lines.append(header)
        func row(_ label: String, _ value: (PruneBreakdown) -> Double) {
            lines.append("    " + label.padding(toLength: 20, withPad: " ", startingAt: 0) + ranks.map { b in
                String(format: "%8.3f s %6.1f%% ", value(b), 100 * value(b) / b.wall)
            }.joined())
        }
        for (i, label) in labels.enumerated() { row(label, { $0.seconds[i] }) }
        row("overlapped (−)", { $0.overlapped })
        row("unaccounted", { $0.unaccounted })
        row("wall", { $0.wall })
        row("FLOP floor", { _ in floorSeconds })
        return lines.joined(separator: "\n")
    }
}
