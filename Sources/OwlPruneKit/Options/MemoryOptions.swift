import ArgumentParser
import Checkpoint
import Cluster
import Diagnostics
import Distribution
import Foundation
import MPIKit
import Model
import Pruning

/// `--max-memory`: the bytes owlprune may use on each node, instead of what the node reports.
package struct MemoryOptions: ParsableArguments {
    /// Explicit: `ParsableArguments` needs an initializer as visible as the type (the command line's module parses it).
    package init() {}
    @Option(name: .customLong("max-memory"),
            help: ArgumentHelp("Memory owlprune may use per node: \(ByteSize.helpConvention) (48GB = 48·10^9 bytes; 48G is refused as ambiguous). Overrides /proc/meminfo and the cgroup limit.",
                               valueName: "size"),
            transform: ByteSize.argument)
    package var maxMemory: ByteSize?

    package var maxMemoryBytes: Int? { maxMemory?.bytes }
}
