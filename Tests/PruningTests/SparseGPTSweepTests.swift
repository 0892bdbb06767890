import Testing
import Tensor
@testable import Pruning

/// `SparseGPTSweep` on row shares (docs/design.md §3 "Row-parallel SparseGPT"): any deal of whole
/// panels, given the tile thresholds of all rows, reproduces the one-rank sweep bit for bit, and
/// the thresholds computed from the shares' scores are the one-rank thresholds.
@Suite struct SparseGPTSweepTests {
    static let rows = 5 * SparseGPTSweep.panelRows + 7, cols = 48

    static func weight(seed: UInt64) -> Matrix {
        var random = TestRandom(seed: seed)
        return random.matrix(rows, cols)
    }

    @Test func sharesAreWholePanelsInRowOrder() {
        let p = SparseGPTSweep.panelRows
        #expect(SparseGPTSweep.rowShares(rows: 3 * p + 4, parts: 3) == [0..<(2 * p), (2 * p)..<(3 * p), (3 * p)..<(3 * p + 4)])
        #expect(SparseGPTSweep.rowShares(rows: p, parts: 3) == [0..<p, p..<p, p..<p])
        for (rows, parts) in [(1, 1), (Self.rows, 2), (Self.rows, 4), (Self.rows, 9), (4096, 3)] {
            let shares = SparseGPTSweep.rowShares(rows: rows, parts: parts)
            #expect(shares.count == parts && shares.first!.lowerBound == 0 && shares.last!.upperBound == rows)
            for (a, b) in zip(shares, shares.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
            #expect(shares.allSatisfy { $0.lowerBound % p == 0 || $0.lowerBound == rows }, "\(rows) rows in \(parts): \(shares)")
        }
    }

    @Test(arguments: [SparsityPattern.unstructured, .nOfM(n: 2, m: 4)])
    func anyDealOfPanelsGivesTheOneRankBits(pattern: SparsityPattern) throws {
        let h = SparseGPTTests.hessian(columns: Self.cols, seed: 3)
        let factor = try inverseHessianFactor(hessian: h, percdamp: 0.01, layer: "t")
        let w = Self.weight(seed: 4)
        var thresholds: [Float] = []
        let whole = try SparseGPTSweep.sweep(weight: w, factor: factor, sparsity: 0.6, pattern: pattern, blocksize: 16, layer: "t") {
            let t = SparseGPTSweep.threshold(ofAllScores: $0, sparsity: 0.6)
            thresholds.append(t)
            return t
        }
        #expect(thresholds.count == (pattern == .unstructured ? 3 : 0))
        // The one-rank entry point is the same sweep.
        let entry = try sparseGPT(weight: w, hessian: h, sparsity: 0.6, pattern: pattern, blocksize: 16, layer: "t")
        #expect(entry.weight.elements.map(\.bitPattern) == whole.weight.elements.map(\.bitPattern))

        for parts in [2, 3, 7] {
            var scoresByTile = [[Float]](repeating: [], count: thresholds.count)
            var rowsOut: [Float] = [], maskOut: [Bool] = []
            for share in SparseGPTSweep.rowShares(rows: Self.rows, parts: parts) {
                var tile = 0
                let part = try SparseGPTSweep.sweep(weight: w.rows(share), factor: factor, sparsity: 0.6, pattern: pattern,
                                                    blocksize: 16, layer: "t") {
                    scoresByTile[tile] += $0
                    defer { tile += 1 }
                    return thresholds[tile]
                }
                rowsOut += part.weight.elements
                maskOut += part.mask.pruned
            }
            #expect(rowsOut.map(\.bitPattern) == whole.weight.elements.map(\.bitPattern), "\(parts) parts: weights differ")
            #expect(maskOut == whole.mask.pruned, "\(parts) parts: masks differ")
            for (t, scores) in scoresByTile.enumerated() {
                #expect(SparseGPTSweep.threshold(ofAllScores: scores, sparsity: 0.6) == thresholds[t], "tile \(t), \(parts) parts")
            }
        }
        // The comparison can fail: the shares' masks follow the thresholds they are given.
        if pattern == .unstructured {
            let lower = try SparseGPTSweep.sweep(weight: w.rows(0..<SparseGPTSweep.panelRows), factor: factor, sparsity: 0.6,
                                                 pattern: pattern, blocksize: 16, layer: "t") { _ in thresholds[0] / 2 }
            #expect(lower.mask.pruned != Array(whole.mask.pruned[..<(SparseGPTSweep.panelRows * Self.cols)]))
        }
    }
}
