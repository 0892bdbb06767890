import Testing
import Tensor
@testable import Pruning

@Suite struct CountingAndMaskTests {
    @Test func countsUseOneFloat64MultiplyAndTruncate() {
        // 100 × 0.29 = 28.999999999999996 in float64 → 28, not 29 (docs/algorithms.md §5.2).
        #expect(prunedCount(of: 100, sparsity: 0.29) == 28)
        #expect(prunedCount(of: 4096, sparsity: 0.7) == 2867)
        #expect(prunedCount(of: 11008, sparsity: 0.7) == 7705)
        #expect(prunedCount(of: 576, sparsity: 0.7) == 403)
        #expect(prunedCount(of: 1536, sparsity: 0.7) == 1075)
    }

    @Test func magnitudeWorkedExamplePrunesAllEntriesAtOrBelowTau() throws {
        // |W| sorted = [0.1, 0.1, 0.3, 0.9], k = 2, τ = 0.3 → 0.3, -0.1, 0.1 pruned (3 of 4).
        let w = Matrix([[0.3, -0.1], [0.1, 0.9]])
        let mask = try magnitudeMask(weight: w, sparsity: 0.5, pattern: .unstructured, layer: "t")
        #expect(mask.pruned == [true, true, true, false])
        #expect(mask.apply(to: w) == Matrix([[0, 0], [0, 0.9]]))
    }

    @Test func magnitudeAtZeroPrunesNothingAndRejectsOne() throws {
        let w = Matrix([[0.3, -0.1], [0.1, 0.9]])
        #expect(try magnitudeMask(weight: w, sparsity: 0, pattern: .unstructured, layer: "t").prunedCount == 0)
        #expect(throws: PruningError.invalidSparsity(layer: "t", sparsity: 1)) {
            try magnitudeMask(weight: w, sparsity: 1, pattern: .unstructured, layer: "t")
        }
    }

    @Test func wandaTieExampleKeepsColumnOrder() throws {
        let metric = Matrix([[0.5, 0.2, 0.2, 0.9]])
        #expect(try rowwiseMask(metric: metric, sparsity: 0.5, pattern: .unstructured, layer: "t").prunedColumns(row: 0) == [1, 2])
        #expect(try rowwiseMask(metric: metric, sparsity: 0.25, pattern: .unstructured, layer: "t").prunedColumns(row: 0) == [1])
    }

    @Test func wandaPrunesExactlyFloorPerRow() throws {
        var random = TestRandom(seed: 1)
        let metric = random.matrix(7, 100)
        let mask = try rowwiseMask(metric: metric, sparsity: 0.29, pattern: .unstructured, layer: "t")
        for r in 0..<7 { #expect(mask.prunedColumns(row: r).count == 28) }
        // The pruned entries are the 28 smallest of each row.
        for r in 0..<7 {
            let keptMin = (0..<100).filter { !mask[r, $0] }.map { metric[r, $0] }.min()!
            let prunedMax = mask.prunedColumns(row: r).map { metric[r, $0] }.max()!
            #expect(prunedMax <= keptMin)
        }
    }

    @Test func nOfMGroupExamples() throws {
        // [0.3, 0.1, 0.3, 0.2] → columns 1, 3; [0.3, 0.3, 0.3, 0.1] → column 3, then 0 (lower index wins the tie).
        let metric = Matrix([[0.3, 0.1, 0.3, 0.2, 0.3, 0.3, 0.3, 0.1]])
        let mask = try rowwiseMask(metric: metric, sparsity: 0, pattern: .nOfM(n: 2, m: 4), layer: "t")
        #expect(mask.prunedColumns(row: 0) == [1, 3, 4, 7])
    }

    @Test func nOfMAcceptsAnyNBelowMAndRejectsBadShapes() throws {
        var random = TestRandom(seed: 2)
        let metric = random.matrix(3, 24)
        let mask = try rowwiseMask(metric: metric, sparsity: 0, pattern: .nOfM(n: 5, m: 8), layer: "t")
        #expect(mask.prunedCount == 3 * 3 * 5)
        #expect(throws: PruningError.self) { try rowwiseMask(metric: metric, sparsity: 0, pattern: .nOfM(n: 2, m: 5), layer: "t") }
        #expect(throws: PruningError.self) { try rowwiseMask(metric: metric, sparsity: 0, pattern: .nOfM(n: 4, m: 4), layer: "t") }
        let message = PruningError.invalidPattern(layer: "model.layers.0.mlp.up_proj", n: 2, m: 5,
                                                  detail: "24 columns is not a multiple of 5").localizedDescription
        #expect(message == "layer model.layers.0.mlp.up_proj: pattern 2:5 is invalid: 24 columns is not a multiple of 5")
    }
}

/// The fast selections against the obvious definitions, on data with ties, zeros of both signs
/// and negative values.
@Suite struct FastSelectionTests {
    func data(_ seed: UInt64, count: Int) -> [Float] {
        var g = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            let r = g.next()
            switch r % 7 {
            case 0: return 0
            case 1: return -0.0
            case 2: return 0.5
            default: return Float(Int64(bitPattern: r) % 1000) / 37
            }
        }
    }

    @Test func ascendingOrderEqualsStableSortByValueThenIndex() {
        for seed in 0..<20 as Range<UInt64> {
            let v = data(seed, count: 200)
            let want = v.indices.sorted { v[$0] < v[$1] || (v[$0] == v[$1] && $0 < $1) }
            #expect(Selection.ascendingOrder(v[...]) == want)
        }
    }

    @Test func kthSmallestEqualsSortedIndex() {
        for seed in 0..<20 as Range<UInt64> {
            let v = data(seed, count: 301)
            let sorted = v.sorted()
            for k in [0, 1, 150, 299, 300] { #expect(Selection.kthSmallest(v, k) == sorted[k]) }
        }
    }

    /// Inputs of 2^14 and more take the radix-bucket path; it must give the sorted index too,
    /// with many ties, both zeros and negatives, at the edges and inside a crowded bucket.
    @Test func largeKthSmallestEqualsSortedIndex() {
        for seed in 0..<4 as Range<UInt64> {
            var v = data(seed, count: 40_000)
            for i in stride(from: 0, to: v.count, by: 7) { v[i] = v[i / 2] }
            for i in stride(from: 3, to: v.count, by: 101) { v[i] = i % 2 == 0 ? 0 : -0.0 }
            let sorted = v.sorted()
            for k in [0, 1, 9_999, 20_000, 39_998, 39_999] {
                #expect(Selection.kthSmallest(v, k).bitPattern == sorted[k].bitPattern
                        || (sorted[k] == 0 && Selection.kthSmallest(v, k) == 0))
            }
        }
    }

    /// The quickselect mask is the sorted prefix exactly, ties and signed zeros included.
    @Test func smallestPerRowEqualsSortedPrefix() {
        for seed in 0..<12 as Range<UInt64> {
            let cols = 97 + Int(seed) * 13
            var m = Matrix(rows: 5, cols: cols)
            for r in 0..<5 {
                let v = data(seed * 7 + UInt64(r), count: cols)
                for j in 0..<cols { m[r, j] = v[j] }
            }
            for count in [0, 1, cols / 2, cols - 1, cols] {
                var want = PruningMask(rows: 5, cols: cols)
                for r in 0..<5 {
                    for j in Selection.ascendingOrder(m.row(r)).prefix(count) { want[r, j] = true }
                }
                #expect(Selection.smallestPerRow(m, count: count) == want)
            }
        }
    }

    /// The radix pass and the tie rule on what Wanda metrics look like and on what breaks
    /// bucketing: long rows of one exponent, rows crowded with equal values (the rank falls among
    /// them), a constant row, both zeros and negatives. Control: taking equal keys from the
    /// highest index instead would give another mask.
    @Test func smallestPerRowEqualsSortedPrefixOnTiesAndLongRows() {
        for (seed, cols) in [(UInt64(1), 4_096), (2, 11_008), (3, 1_536), (4, 577)] {
            var m = Matrix(rows: 6, cols: cols)
            let v = data(seed, count: cols * 6)
            for r in 0..<6 {
                for j in 0..<cols {
                    let x = v[r * cols + j]
                    switch r {
                    case 0: m[r, j] = abs(x) * 0.01 + 1            // one exponent: one crowded bucket
                    case 1: m[r, j] = Float(Int(abs(x) * 3) % 3)   // three values, many ties
                    case 2: m[r, j] = 0.5                           // constant
                    case 3: m[r, j] = j % 5 == 0 ? (j % 2 == 0 ? 0 : -0.0) : x
                    case 4: m[r, j] = -abs(x)
                    default: m[r, j] = abs(x)
                    }
                }
            }
            for count in [1, cols / 3, cols / 2, (cols * 7) / 10, cols - 1] {
                var want = PruningMask(rows: 6, cols: cols), reversed = PruningMask(rows: 6, cols: cols)
                for r in 0..<6 {
                    let order = Selection.ascendingOrder(m.row(r))
                    for j in order.prefix(count) { want[r, j] = true }
                    // Equal values in descending index order: the rule the control breaks.
                    let keyed = order.map { (m[r, $0] == 0 ? 0 : m[r, $0], -$0) }.sorted { $0 < $1 }
                    for (_, j) in keyed.prefix(count) { reversed[r, -j] = true }
                }
                let got = Selection.smallestPerRow(m, count: count)
                #expect(got == want, "cols \(cols), count \(count)")
                #expect(got != reversed, "cols \(cols), count \(count): the control must differ")
            }
        }
    }
}
