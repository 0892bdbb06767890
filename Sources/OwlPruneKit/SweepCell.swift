import ArgumentParser
import Cluster
import Diagnostics
import Distribution
import Foundation
import Pruning
import Yams

/// One cell of a sweep: a method, an allocation and a target sparsity, and with the grid's
/// `remove-blocks` axis the K blocks removed first; everything else is the sweep's shared settings.
/// A depth method (shortgpt, sleb, streamline) cell only removes blocks: its allocation is
/// `uniform` and its sparsity 0, which is what its remaining blocks get (docs/sweep.md).
package struct SweepCell: Codable, Hashable, Sendable {
    package var method: MethodName
    package var allocation: AllocationName
    package var sparsity: Double
    /// `remove-blocks` (issue 24): nil when the grid removes no blocks (and absent from the JSON).
    package var removeBlocks: Int? = nil

    package var isDepthOnly: Bool { DepthOptions.isDepthMethod(method) }

    /// Stable and file-name safe: `wanda-owl-0.7`, `wanda-owl-0.7-k4`, `shortgpt-k4`. The sparsity
    /// is written as the shortest text that reads back as the same Double, so two different values
    /// never share an id (and with it a result, a journal entry and a model directory); issue 26 item 3.
    package var id: String {
        let k = removeBlocks.map { "-k\($0)" } ?? ""
        return isDepthOnly ? "\(method.rawValue)\(k)" : "\(method.rawValue)-\(allocation.rawValue)-\(sparsity)\(k)"
    }
    /// The line of a plot: one per method × allocation (× K).
    package var series: String {
        let k = removeBlocks.map { " K=\($0)" } ?? ""
        return isDepthOnly ? "\(method.rawValue)\(k)" : "\(method.rawValue) \(allocation.rawValue)\(k)"
    }
}
