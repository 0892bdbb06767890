import OwlPruneKit
import ArgumentParser
import Checkpoint
import Foundation
import Model
import Tensor

extension OwlPrune {
    /// `owlprune bench`: rates and ratios, never asserted in tests (speed claims come from here).
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure throughput (prints rates and ratios).",
            subcommands: [Forward.self, Prune.self, ClusterScaling.self, Link.self])
    }
}
