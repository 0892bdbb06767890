import OwlPruneKit
import ArgumentParser
import Foundation
import MPIKit

extension OwlPrune.Bench {
    /// Broadcast bandwidth between the ranks of this job (`mpiexec -n 2 owlprune bench link`):
    /// the link rate `bench cluster` feeds its scaling model, measured rather than assumed. Time
    /// inside the collectives of a prune also contains waiting for slower ranks, so it cannot
    /// stand in for the link.
    struct Link: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Broadcast bandwidth between the ranks (GB/s).")

        @Option(help: "Message size, MB.") var megabytes: Int = 32
        @Option(help: "Repetitions (after one warm-up).") var repetitions: Int = 5
        @Flag(help: "Print one JSON object on stdout.") var json = false

        func run() throws {
            let comm = try Runtime.communicator()
            var buffer = [Float](repeating: Float(comm.rank), count: megabytes * 1_000_000 / 4)
            try comm.broadcast(&buffer, root: 0)
            try comm.barrier()
            let t0 = Communicator.wallTime
            for i in 0..<repetitions { try comm.broadcast(&buffer, root: i % comm.size) }
            try comm.barrier()
            let seconds = (Communicator.wallTime - t0) / Double(max(repetitions, 1))
            guard comm.rank == 0 else { return }
            if json {
                try JSONOutput.print(["megabytes": megabytes, "ranks": comm.size, "repetitions": repetitions,
                                      "seconds_per_broadcast": seconds, "gb_per_second": Double(buffer.count * 4) / seconds / 1e9])
            } else {
                printResult(String(format: "link: broadcast of %d MB over %d ranks: %.4f s, %.3f GB/s", megabytes, comm.size, seconds,
                                   Double(buffer.count * 4) / seconds / 1e9))
            }
        }
    }
}
