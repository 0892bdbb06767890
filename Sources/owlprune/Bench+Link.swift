import OwlPruneKit
import ArgumentParser
import Foundation
import MPIKit

extension OwlPrune.Bench {
    /// Broadcast bandwidth between the ranks of this job (`mpiexec -n 2 owlprune bench link`),
    /// measured by `LinkBench`.
    struct Link: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Broadcast bandwidth between the ranks (GB/s).")

        @Option(help: "Message size, MB.") var megabytes: Int = 32
        @Option(help: "Repetitions (after one warm-up).") var repetitions: Int = 5
        @Flag(help: "Print one JSON object on stdout.") var json = false

        func run() throws {
            let comm = try Runtime.communicator()
            guard let seconds = try LinkBench.secondsPerBroadcast(comm: comm, megabytes: megabytes, repetitions: repetitions) else { return }
            let bytes = Double(megabytes * 1_000_000 / 4 * 4)
            if json {
                try JSONOutput.print(["megabytes": megabytes, "ranks": comm.size, "repetitions": repetitions,
                                      "seconds_per_broadcast": seconds, "gb_per_second": bytes / seconds / 1e9])
            } else {
                printResult(String(format: "link: broadcast of %d MB over %d ranks: %.4f s, %.3f GB/s", megabytes, comm.size, seconds,
                                   bytes / seconds / 1e9))
            }
        }
    }
}
