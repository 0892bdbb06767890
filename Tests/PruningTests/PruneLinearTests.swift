import Testing
import Tensor
@testable import Pruning

/// Achieved pruned count = planned count, per method, through the orchestration entry.
@Suite struct PruneLinearTests {
    static let rows = 8, cols = 24
    static let weight: Matrix = { var r = TestRandom(seed: 91); return r.matrix(rows, cols) }()
    static func statistics(_ kinds: StatisticKinds, columns: Int = cols) -> LinearStatistics {
        var random = TestRandom(seed: 92)
        var stats = LinearStatistics(columns: columns, collecting: kinds)
        for _ in 0..<3 { stats.add(window: random.matrix(40, columns)) }
        return stats
    }
    static let id = LinearID(block: 2, kind: .q)

    @Test func rowwiseAndNOfMCountsAreExact() throws {
        let s = Self.statistics([.dsnot, .hessian])
        for method in [PruningMethod.wanda] {
            let r = try pruneLinear(weight: Self.weight, id: Self.id, statistics: s, method: method, sparsity: 0.7, pattern: .unstructured)
            #expect(r.prunedCount == Self.rows * prunedCount(of: Self.cols, sparsity: 0.7))
        }
        for method in PruningMethod.allCases {
            let r = try pruneLinear(weight: Self.weight, id: Self.id, statistics: s, method: method, sparsity: 0, pattern: .nOfM(n: 2, m: 4))
            #expect(r.prunedCount == Self.rows * Self.cols / 2)
            #expect(r.weight.elements.filter { $0 == 0 }.count >= r.prunedCount)
            for i in r.mask.pruned.indices where r.mask.pruned[i] { #expect(r.weight.elements[i] == 0) }
        }
        let dsnot = PruningOptions(dsnot: DSnoTOptions())
        for method in PruningMethod.allCases {
            let r = try pruneLinear(weight: Self.weight, id: Self.id, statistics: s, method: method, sparsity: 0.7,
                                    pattern: .unstructured, options: dsnot)
            #expect(r.prunedCount == Self.rows * prunedCount(of: Self.cols, sparsity: 0.7))
        }
    }

    @Test func thresholdMethodsPruneKPlusOneWithDistinctValues() throws {
        let s = Self.statistics([.hessian])
        let magnitude = try pruneLinear(weight: Self.weight, id: Self.id, statistics: s, method: .magnitude, sparsity: 0.7, pattern: .unstructured)
        #expect(magnitude.prunedCount == prunedCount(of: Self.rows * Self.cols, sparsity: 0.7) + 1)
        var options = PruningOptions()
        options.blocksize = 8
        let gpt = try pruneLinear(weight: Self.weight, id: Self.id, statistics: s, method: .sparsegpt, sparsity: 0.7,
                                  pattern: .unstructured, options: options)
        #expect(gpt.prunedCount == 3 * (prunedCount(of: Self.rows * 8, sparsity: 0.7) + 1))
    }

    @Test func sparsityZeroIsIdentityAndMissingStatisticsAreNamed() throws {
        let s = Self.statistics([])
        for method in PruningMethod.allCases {
            let r = try pruneLinear(weight: Self.weight, id: Self.id, statistics: s, method: method, sparsity: 0, pattern: .unstructured)
            #expect(r.weight == Self.weight && r.prunedCount == 0)
        }
        #expect(throws: PruningError.missingStatistic(layer: "model.layers.2.self_attn.q_proj", statistic: "Hessian")) {
            try pruneLinear(weight: Self.weight, id: Self.id, statistics: s, method: .sparsegpt, sparsity: 0.5, pattern: .unstructured)
        }
        #expect(throws: PruningError.self) {
            try pruneLinear(weight: Self.weight, id: Self.id, statistics: s, method: .wanda, sparsity: 1.2, pattern: .unstructured)
        }
    }

    @Test func dsnotSkipsMLPByDefault() throws {
        let s = Self.statistics([.dsnot])
        let options = PruningOptions(dsnot: DSnoTOptions())
        let mlp = LinearID(block: 0, kind: .up)
        let refined = try pruneLinear(weight: Self.weight, id: mlp, statistics: s, method: .wanda, sparsity: 0.5,
                                      pattern: .unstructured, options: options)
        let plain = try pruneLinear(weight: Self.weight, id: mlp, statistics: s, method: .wanda, sparsity: 0.5, pattern: .unstructured)
        #expect(refined.mask == plain.mask)
    }
}

@Suite struct DaSSTests {
    // gate_proj (4 intermediate neurons × 2 inputs); S^down = [100, 1, 1, 100]: neurons 1 and 2
    // are weak. Per input column the 2 smallest |W|·S^(1/4) go: the weak neurons' weights,
    // although |W| of neuron 0 is smaller than theirs in column 0.
    static let gate = Matrix([[0.2, 0.5], [0.3, 0.4], [0.4, 0.3], [0.5, 0.6]])
    static let intermediate: [Float] = [100, 1, 1, 100]

    @Test func gateUpGroupsAreInputColumnsWeightedByIntermediateNorms() throws {
        let mask = try dassMask(weight: Self.gate, kind: .gate, scalerRow: [1, 1], intermediateScalerRow: Self.intermediate,
                                sparsity: 0.5, pattern: .unstructured, layer: "t")
        #expect(mask.pruned == [false, false, true, true, true, true, false, false])
        // 2:4 along the intermediate dimension of each column gives the same result here.
        let nm = try dassMask(weight: Self.gate, kind: .up, scalerRow: [1, 1], intermediateScalerRow: Self.intermediate,
                              sparsity: 0, pattern: .nOfM(n: 2, m: 4), layer: "t")
        #expect(nm == mask)
        #expect(throws: PruningError.self) {
            try dassMask(weight: Self.gate, kind: .gate, scalerRow: [1, 1], intermediateScalerRow: Self.intermediate,
                         sparsity: 0, pattern: .nOfM(n: 2, m: 3), layer: "t")
        }
    }

    @Test func downProjIsWandaAndEntryRoutesByKind() throws {
        var random = TestRandom(seed: 93)
        let down = random.matrix(3, 4)
        let s: [Float] = [4, 1, 9, 0.25]
        let dass = try dassMask(weight: down, kind: .down, scalerRow: s, intermediateScalerRow: nil, sparsity: 0.5,
                                pattern: .unstructured, layer: "t")
        #expect(dass == (try rowwiseMask(metric: wandaMetric(weight: down, scalerRow: s), sparsity: 0.5, pattern: .unstructured, layer: "t")))

        var stats = LinearStatistics(columns: 2)
        stats.wanda.scalerRow = [1, 1]
        var downStats = WandaStatistic(columns: 4)
        downStats.scalerRow = Self.intermediate
        let options = PruningOptions(dass: DaSSOptions())
        let r = try pruneLinear(weight: Self.gate, id: LinearID(block: 0, kind: .gate), statistics: stats, intermediate: downStats,
                                method: .wanda, sparsity: 0.5, pattern: .unstructured, options: options)
        #expect(r.prunedCount == 4 && r.mask.pruned == [false, false, true, true, true, true, false, false])
        #expect(throws: PruningError.self) {
            try pruneLinear(weight: Self.gate, id: LinearID(block: 0, kind: .gate), statistics: stats, intermediate: downStats,
                            method: .sparsegpt, sparsity: 0.5, pattern: .unstructured, options: options)
        }
    }
}
