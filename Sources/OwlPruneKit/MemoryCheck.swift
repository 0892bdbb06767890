import ArgumentParser
import Checkpoint
import Cluster
import Diagnostics
import Distribution
import Foundation
import MPIKit
import Model
import Pruning

/// Memory before work (issue 10 item 2): before the windows are drawn or a block is loaded, each
/// rank estimates what it will hold — its blocks, the calibration hidden states and forward
/// buffers, one block's statistics (Cluster's `MemoryBudget`, the bound the report checks) and
/// the window token ids — multiplies by the ranks sharing its node, and refuses with one line
/// naming the flags to change when that exceeds what the node can give: `MemAvailable` from
/// /proc/meminfo, or the cgroup's `memory.max` minus `memory.current` when a job scheduler set
/// one (cgroup v1's `memory.limit_in_bytes` likewise), whichever is smaller. Dying in the
/// allocator hours into a job loses the job; this costs a few file reads.
package enum MemoryCheck {
    /// 1.5 GiB, 320.0 MiB, 96.0 KiB (Diagnostics' `byteCountText`, one formatter for every bound).
    package static func format(bytes: Double) -> String { byteCountText(bytes) }

    /// What this node can give, and where the figure comes from; nil when nothing is readable.
    package static func available() -> (bytes: Int, source: String)? {
        var best: (Int, String)?
        func consider(_ bytes: Int?, _ source: String) {
            guard let bytes, bytes >= 0 else { return }
            if best.map({ bytes < $0.0 }) ?? true { best = (bytes, source) }
        }
        if let meminfo = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
           let line = meminfo.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
           let kb = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) {
            consider(kb * 1024, "MemAvailable in /proc/meminfo")
        }
        func number(_ path: String) -> Int? {
            (try? String(contentsOfFile: path, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        if let limit = number("/sys/fs/cgroup/memory.max") {
            consider(limit - (number("/sys/fs/cgroup/memory.current") ?? 0), "the cgroup limit /sys/fs/cgroup/memory.max")
        }
        if let limit = number("/sys/fs/cgroup/memory/memory.limit_in_bytes"), limit < 1 << 60 {
            consider(limit - (number("/sys/fs/cgroup/memory/memory.usage_in_bytes") ?? 0),
                     "the cgroup limit /sys/fs/cgroup/memory/memory.limit_in_bytes")
        }
        return best
    }

    /// Throws `MemoryError.exceeds` when this node's ranks would need more than it has.
    package static func checkPrune(architecture: Architecture, checkpoint: CheckpointDirectory, comm: Communicator,
                           nsamples: Int, seqlen: Int, threads: Int, statistics: StatisticKinds, maxMemory: Int?) throws {
        let ranges = try partition(parameterCounts: Array(repeating: architecture.shape.parameterCount, count: architecture.blockCount),
                                   ranks: comm.size)
        let budget = try MemoryBudget(blocks: ranges[comm.rank], checkpoint: checkpoint, shape: architecture.shape,
                                      windows: nsamples, length: seqlen, threads: threads, statistics: statistics,
                                      baselineBytes: currentResidentBytes())
        let ids = Double(nsamples) * Double(seqlen) * 8
        let perRank = Double(budget.boundBytes) + ids
        let ranksHere = try comm.ranksOnThisNode()
        let needed = perRank * Double(ranksHere)
        let limit: (bytes: Int, source: String)? = maxMemory.map { ($0, "--max-memory") } ?? available()
        guard let limit, needed > Double(limit.bytes) else { return }
        let blocks = Double(budget.blockAllowanceBytes)
        let activations = Double(budget.activationBytes) + ids
        let statisticsBytes = Double(budget.statisticsBytes)
        let remedy: String
        if activations >= blocks && activations >= statisticsBytes {
            remedy = "lower --nsamples or --seqlen"
        } else if blocks >= statisticsBytes {
            remedy = "run more ranks on more nodes"
        } else {
            remedy = "choose a --method with smaller statistics (SparseGPT keeps a Hessian per linear)"
        }
        throw MemoryError.exceeds(needed: needed, ranks: ranksHere, blocks: blocks, activations: activations,
                                  statistics: statisticsBytes, nsamples: nsamples, seqlen: seqlen,
                                  available: Double(limit.bytes), source: limit.source, remedy: remedy)
    }
}

package enum MemoryError: Error, LocalizedError {
    case exceeds(needed: Double, ranks: Int, blocks: Double, activations: Double, statistics: Double, nsamples: Int, seqlen: Int,
                 available: Double, source: String, remedy: String)

    package var errorDescription: String? {
        switch self {
        case let .exceeds(needed, ranks, blocks, activations, statistics, n, l, available, source, remedy):
            func gib(_ b: Double) -> String { MemoryCheck.format(bytes: b) }
            return "this node needs about \(gib(needed)) (\(ranks) rank\(ranks == 1 ? "" : "s") × \(gib(needed / Double(ranks))): "
                + "\(gib(blocks)) of blocks, \(gib(activations)) of activations for --nsamples \(n) × --seqlen \(l), "
                + "\(gib(statistics)) of statistics) but \(gib(available)) is available (\(source)); "
                + "\(remedy), or pass --max-memory to override"
        }
    }
}
