import Cluster
import Foundation
import Model
import Pruning
import Tensor
import Testing

/// Issue 29 item 2: a block's solve over the job's threads (`BlockSolve`) gives the bits of the
/// serial `pruneLinear` loop it replaced, for any thread count, and reports the error that loop met first.
@Suite struct BlockSolveTests {
    let shape = BlockShape(hiddenSize: 16, intermediateSize: 72, heads: 4, kvHeads: 2, headDim: 4, rmsNormEpsilon: 1e-5)

    func generator(_ seed: UInt64) -> () -> Float {
        var state = seed
        return {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 997
        }
    }

    func block() -> DecoderBlock {
        let next = generator(7)
        var weights: [BlockLinear: Matrix] = [:]
        for l in BlockLinear.allCases {
            let s = shape.weightShape(l)
            weights[l] = Matrix(rows: s.rows, cols: s.cols, elements: (0..<(s.rows * s.cols)).map { _ in next() })
        }
        return DecoderBlock(index: 2, shape: shape, weights: weights, inputNorm: Array(repeating: 1, count: 16),
                            postAttentionNorm: Array(repeating: 1, count: 16))
    }

    /// Statistics from three random windows per input; `poisoned` inputs get a NaN activation.
    func statistics(_ kinds: StatisticKinds, poisoned: Set<LinearInput> = []) -> BlockStatistics {
        let next = generator(11)
        var stats = BlockStatistics(shape: shape, collecting: kinds)
        for input in BlockStatistics.inputOrder {
            let cols = shape.weightShape(BlockLinear.allCases.first { $0.input == input }!).cols
            for w in 0..<3 {
                var window = Matrix(rows: 24, cols: cols, elements: (0..<(24 * cols)).map { _ in next() })
                if w == 1 && poisoned.contains(input) { window.elements[5] = .nan }
                stats.add(input, window: window)
            }
        }
        return stats
    }

    func configuration(_ method: PruningMethod, _ pattern: SparsityPattern = .unstructured, sparsity: Double) -> PruneConfiguration {
        var options = PruningOptions()
        options.blocksize = 8
        return PruneConfiguration(method: method, pattern: pattern, sparsity: sparsity, allocation: .uniform,
                                  propagation: .sequential, options: options, modelID: "test", seed: nil)
    }

    func plan(_ c: PruneConfiguration) throws -> SparsityPlan {
        try SparsityPlan.make(method: c.method, pattern: c.pattern, target: c.pattern.fixedSparsity ?? c.sparsity,
                              allocation: .uniform, blocks: 3)
    }

    /// The loop `BlockSolve` replaced: `pruneLinear` per linear, in block order, on one thread.
    func serial(_ c: PruneConfiguration, _ b: DecoderBlock, _ stats: BlockStatistics) throws -> [PrunedLinear] {
        let p = try plan(c)
        return try BlockLinear.allCases.map { l in
            try pruneLinear(weight: b.weight(l), id: LinearID(block: b.index, kind: l.kind), statistics: stats.statistics(for: l),
                            intermediate: stats.statistics(for: .down).wanda, method: c.method,
                            sparsity: p.sparsity(block: b.index, kind: l.kind), pattern: p.pattern(block: b.index, kind: l.kind),
                            options: c.options)
        }
    }

    func bits(_ m: Matrix) -> [UInt32] { m.elements.map(\.bitPattern) }

    @Test(arguments: [(PruningMethod.sparsegpt, SparsityPattern.unstructured), (.sparsegpt, .nOfM(n: 2, m: 4)),
                      (.wanda, .unstructured), (.magnitude, .unstructured)])
    func everyThreadCountGivesTheSerialLoopsBits(method: PruningMethod, pattern: SparsityPattern) throws {
        let b = block(), c = configuration(method, pattern, sparsity: 0.5)
        let stats = statistics(requiredStatistics(method: method, options: c.options))
        let reference = try serial(c, b, stats)
        for threads in [1, 2, 3, 8] {
            let solved = try BlockSolve(configuration: c, threads: threads)
                .prune(BlockLinear.allCases, of: b, statistics: stats, plan: plan(c), checkZeroing: true)
            for (i, l) in BlockLinear.allCases.enumerated() {
                #expect(bits(solved[i].pruned.weight) == bits(reference[i].weight), "\(method) \(l) at \(threads) threads")
                #expect(solved[i].pruned.prunedCount == reference[i].prunedCount)
                #expect(solved[i].zeroing == reference[i].mask.isZeroing(of: b.weight(l), giving: reference[i].weight))
            }
        }
        // A subset (a rank's share in the windows split) gives the same linears' bits.
        let share: [BlockLinear] = [.v, .down]
        let part = try BlockSolve(configuration: c, threads: 2).prune(share, of: b, statistics: stats, plan: plan(c), checkZeroing: false)
        #expect(bits(part[0].pruned.weight) == bits(reference[2].weight) && bits(part[1].pruned.weight) == bits(reference[6].weight))
        // Control: the comparison sees a change — another sparsity gives other bits.
        if pattern == .unstructured {
            let other = try serial(configuration(method, sparsity: 0.6), b, stats)
            #expect(bits(other[6].weight) != bits(reference[6].weight))
        }
    }

    /// The error the serial loop met first: the first failing linear in block order, whichever thread
    /// finished first. Poisoned MLP input (gate, up) and down_proj's input: gate_proj is named.
    @Test(arguments: [PruningMethod.sparsegpt, .wanda])
    func theFirstFailingLinearInBlockOrderIsReported(method: PruningMethod) throws {
        let b = block(), c = configuration(method, sparsity: 0.5)
        let kinds = requiredStatistics(method: method, options: c.options)
        func message(_ poisoned: Set<LinearInput>, threads: Int?) -> String {
            let stats = statistics(kinds, poisoned: poisoned)
            do {
                if let threads {
                    _ = try BlockSolve(configuration: c, threads: threads)
                        .prune(BlockLinear.allCases, of: b, statistics: stats, plan: plan(c), checkZeroing: false)
                } else {
                    _ = try serial(c, b, stats)
                }
                return "no error"
            } catch { return "\(error)" }
        }
        let expected = message([.mlp, .down], threads: nil)
        #expect(expected.contains("gate_proj"), "\(expected)")
        for threads in [1, 2, 4] {
            for _ in 0..<3 { #expect(message([.mlp, .down], threads: threads) == expected) }
        }
        // Control: with only down_proj's input poisoned the error names down_proj.
        let down = message([.down], threads: 2)
        #expect(down.contains("down_proj") && down == message([.down], threads: nil), "\(down)")
    }
}
