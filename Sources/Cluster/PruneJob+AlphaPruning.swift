import Model
import Pruning

extension PruneJob {
    /// AlphaPruning's mean α of each of this rank's blocks, from the weights alone (no
    /// calibration pass; docs/algorithms.md §14); nil for every other allocation. Each block is
    /// fitted by its owner only, so `agreePlan`'s all-reduce over zeros gives every rank the
    /// same bits for any rank count.
    func weightOnlyBlockValues(_ run: PruneRun) throws -> [Double]? {
        guard case let .alpha(_, fit) = configuration.allocation, configuration.pattern.fixedSparsity == nil else { return nil }
        return try blockRange.map { index in
            progress("plan: block \(index + 1)/\(architecture.blockCount) (AlphaPruning spectra)")
            let block = try run.load(index)
            return try AlphaPruning.blockMetric(linears: BlockLinear.allCases.map { ($0.weightName(block: index), block.weight($0)) },
                                                fit: fit)
        }
    }
}
