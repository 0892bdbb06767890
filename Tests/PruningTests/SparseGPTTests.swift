import Testing
import Tensor
@testable import Pruning

/// SparseGPT (docs/algorithms.md §6) against float64 brute-force OBS and an unblocked float32 sweep.
@Suite struct SparseGPTTests {
    /// A well-conditioned Hessian `2/N Σ xxᵀ` from random windows.
    static func hessian(columns: Int, seed: UInt64) -> Matrix {
        var random = TestRandom(seed: seed)
        var stats = HessianStatistic(columns: columns)
        for _ in 0..<3 { stats.add(window: random.matrix(4 * columns, columns)) }
        return stats.hessian
    }

    /// `H + percdamp·mean(diag H)·I` in float64, the matrix SparseGPT's update is optimal for.
    static func damped(_ h: Matrix, percdamp: Double = 0.01) -> [[Double]] {
        let n = h.cols
        let mean = Float((0..<n).map { Double(h[$0, $0]) }.reduce(0, +) / Double(n))
        let damp = Float(percdamp) * mean
        return (0..<n).map { i in (0..<n).map { j in Double(i == j ? h[i, j] + damp : h[i, j]) } }
    }

    /// Brute-force sequential OBS: for each pruned column c in order, remove it optimally using
    /// the inverse of H restricted to the columns c…n−1 that are still free.
    static func sequentialOBS(_ w: [Double], _ h: [[Double]], pruned: [Bool]) -> [Double] {
        var w = w
        let n = w.count
        for c in 0..<n where pruned[c] {
            let free = Array(c..<n)
            let inverse = invert(free.map { i in free.map { j in h[i][j] } })
            let e = w[c] / inverse[0][0]
            for (t, j) in free.enumerated() { w[j] -= e * inverse[0][t] }
            w[c] = 0
        }
        return w
    }

    /// The optimal update for a fixed mask: `δ_K = H_KK⁻¹ H_KP w_P`; returns its error `δᵀHδ`.
    static func optimalError(_ w: [Double], _ h: [[Double]], pruned: [Bool]) -> Double {
        let kept = w.indices.filter { !pruned[$0] }, gone = w.indices.filter { pruned[$0] }
        var delta = [Double](repeating: 0, count: w.count)
        for j in gone { delta[j] = -w[j] }
        if !kept.isEmpty {
            let inverse = invert(kept.map { i in kept.map { j in h[i][j] } })
            let rhs = kept.map { i in gone.map { j in h[i][j] * w[j] }.reduce(0, +) }
            for (a, i) in kept.enumerated() { delta[i] = zip(inverse[a], rhs).map { $0 * $1 }.reduce(0, +) }
        }
        return delta.indices.map { i in delta.indices.map { j in delta[i] * h[i][j] * delta[j] }.reduce(0, +) }.reduce(0, +)
    }

    @Test func oneRowMatchesBruteForceSequentialOBS() throws {
        let h = Self.hessian(columns: 6, seed: 11)
        var random = TestRandom(seed: 12)
        let w = random.matrix(1, 6)
        let (result, mask) = try sparseGPT(weight: w, hessian: h, sparsity: 0.5, pattern: .unstructured, blocksize: 128, layer: "t")
        let hd = Self.damped(h)
        let oracle = Self.sequentialOBS(w.elements.map(Double.init), hd, pruned: mask.pruned)
        #expect(maxAbsDifference(result.elements, oracle.map(Float.init)) <= 1e-4)
        // Its error can never beat the optimum for the same mask.
        let error = reconstructionError(original: w, pruned: result, hessian: hd)
        #expect(error >= Self.optimalError(w.elements.map(Double.init), hd, pruned: mask.pruned) - 1e-6)
        // k = floor(6·0.5) = 3; the ≤ τ rule prunes the k+1 = 4 smallest W²/U_jj² (no ties here).
        #expect(mask.prunedCount == 4)
        for j in 0..<6 where mask.pruned[j] { #expect(result[0, j] == 0) }
    }

    @Test func prunedColumnsBeforeKeptOnesGiveTheOptimalUpdate() throws {
        // Tiny weights first: the mask is {0,1,2,3}, every kept column comes after every pruned
        // one, so removing them one by one with later-column compensation is the optimal OBS
        // update for that mask, and SparseGPT must reach its error.
        let h = Self.hessian(columns: 6, seed: 21)
        let w = Matrix([[0.01, -0.02, 0.015, -0.012, 3, -2.5]])
        let (result, mask) = try sparseGPT(weight: w, hessian: h, sparsity: 0.5, pattern: .unstructured, layer: "t")
        #expect(mask.pruned == [true, true, true, true, false, false])
        let hd = Self.damped(h)
        let wd = w.elements.map(Double.init)
        let error = reconstructionError(original: w, pruned: result, hessian: hd)
        let optimum = Self.optimalError(wd, hd, pruned: mask.pruned)
        #expect(abs(error - optimum) <= 1e-5 * max(1, optimum))
        // Exhaustive over all 15 masks with 4 pruned: the sequential (SparseGPT) error never
        // beats the optimum of its mask, and equals it for the mask SparseGPT chose.
        var sizeFourMasks = 0
        for bits in 0..<64 where bits.nonzeroBitCount == 4 {
            let candidate = (0..<6).map { bits & (1 << $0) != 0 }
            sizeFourMasks += 1
            let sequential = Matrix(rows: 1, cols: 6, elements: Self.sequentialOBS(wd, hd, pruned: candidate).map(Float.init))
            let sequentialError: Double = reconstructionError(original: w, pruned: sequential, hessian: hd)
            let candidateOptimum: Double = Self.optimalError(wd, hd, pruned: candidate)
            #expect(candidateOptimum <= sequentialError + 1e-6)
            if candidate == mask.pruned { #expect(abs(sequentialError - candidateOptimum) <= 1e-5) }
        }
        #expect(sizeFourMasks == 15)
    }

    /// §6.2 written plainly: one tile, every column update applied to the full row at once.
    static func unblocked(_ weight: Matrix, _ h: Matrix, sparsity: Double) throws -> Matrix {
        let u = try inverseHessianFactor(hessian: h, percdamp: 0.01, layer: "t").upper
        var w = weight
        let scores = (0..<w.count).map { i -> Float in
            let d = u[i % w.cols, i % w.cols]
            return (w.elements[i] * w.elements[i]) / (d * d)
        }
        let tau = scores.sorted()[prunedCount(of: scores.count, sparsity: sparsity)]
        for c in 0..<w.cols {
            for r in 0..<w.rows where scores[r * w.cols + c] <= tau {
                let e = w[r, c] / u[c, c]
                for t in c..<w.cols { w[r, t] -= e * u[c, t] }
                w[r, c] = 0
            }
        }
        return w
    }

    @Test func blocksizeAtLeastColumnsEqualsUnblockedSweep() throws {
        let h = Self.hessian(columns: 10, seed: 31)
        var random = TestRandom(seed: 32)
        let w = random.matrix(5, 10)
        let (result, _) = try sparseGPT(weight: w, hessian: h, sparsity: 0.6, pattern: .unstructured, blocksize: 16, layer: "t")
        #expect(maxAbsDifference(result.elements, try Self.unblocked(w, h, sparsity: 0.6).elements) <= 1e-5)
    }

    @Test func nOfMIsIndependentOfBlockingAndExact() throws {
        let h = Self.hessian(columns: 12, seed: 41)
        var random = TestRandom(seed: 42)
        let w = random.matrix(5, 12)
        let small = try sparseGPT(weight: w, hessian: h, sparsity: 0, pattern: .nOfM(n: 2, m: 4), blocksize: 4, layer: "t")
        let large = try sparseGPT(weight: w, hessian: h, sparsity: 0, pattern: .nOfM(n: 2, m: 4), blocksize: 128, layer: "t")
        #expect(small.mask == large.mask)
        #expect(maxAbsDifference(small.weight.elements, large.weight.elements) <= 1e-5)
        #expect(small.mask.prunedCount == 5 * 3 * 2)
        #expect(small.weight.elements.filter { $0 == 0 }.count >= 30)
        #expect(throws: PruningError.self) {
            try sparseGPT(weight: w, hessian: h, sparsity: 0, pattern: .nOfM(n: 2, m: 8), blocksize: 12, layer: "t")
        }
    }

    @Test func unstructuredCountIsKPlusOnePerTile() throws {
        let h = Self.hessian(columns: 12, seed: 51)
        var random = TestRandom(seed: 52)
        let w = random.matrix(5, 12)
        // Tiles of 5×4 = 20 entries, k = floor(20·0.5) = 10, ≤ τ prunes 11 per tile (no ties).
        let (_, mask) = try sparseGPT(weight: w, hessian: h, sparsity: 0.5, pattern: .unstructured, blocksize: 4, layer: "t")
        #expect(mask.prunedCount == 33)
    }

    @Test func deadColumnsAreZeroedAndIndefiniteHessianIsANamedError() throws {
        var h = Self.hessian(columns: 4, seed: 61)
        for i in 0..<4 { h[1, i] = 0; h[i, 1] = 0 }
        let w = Matrix([[1, 2, 3, 4], [-1, -2, -3, -4]])
        let (result, _) = try sparseGPT(weight: w, hessian: h, sparsity: 0.25, pattern: .unstructured, layer: "t")
        #expect(result[0, 1] == 0 && result[1, 1] == 0)

        let indefinite = Matrix([[1, 2], [2, 1]])
        let id = LinearID(block: 3, kind: .down)
        #expect(throws: PruningError.hessianNotPositiveDefinite(layer: "model.layers.3.mlp.down_proj", damp: 0.01)) {
            try sparseGPT(weight: Matrix([[1, 2]]), hessian: indefinite, sparsity: 0.5, pattern: .unstructured, layer: id.description)
        }
        #expect(PruningError.hessianNotPositiveDefinite(layer: id.description, damp: 0.01).localizedDescription
                == "layer model.layers.3.mlp.down_proj: Hessian not positive definite after damping 0.01; try a larger --damp")
    }

    @Test func inverseFactorSquaresToTheDampedInverse() throws {
        let h = Self.hessian(columns: 5, seed: 71)
        let u = try inverseHessianFactor(hessian: h, percdamp: 0.01, layer: "t").upper
        let expected = invert(Self.damped(h))
        for i in 0..<5 {
            for j in 0..<5 {
                if j < i { #expect(u[i, j] == 0) }
                let product = (0..<5).map { Double(u[$0, i]) * Double(u[$0, j]) }.reduce(0, +)
                #expect(abs(product - expected[i][j]) <= 1e-4 * max(1, abs(expected[i][j])))
            }
        }
    }
}
