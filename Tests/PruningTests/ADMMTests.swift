import Foundation
import Tensor
import Testing
@testable import Pruning

/// ADMM reconstruction (fmfi-compbio/admm-pruning `AdmmPruner.fasterprune`; docs/algorithms.md §15).
@Suite struct ADMMTests {
    /// A Hessian statistic whose reference sum `Σ xᵀx` is `xx` (owlprune keeps (2/N)·Σ, N = 2 here).
    func statistic(_ xx: [[Float]]) -> HessianStatistic {
        var h = HessianStatistic(columns: xx.count)
        h.hessian = Matrix(xx)
        h.windowCount = 2
        return h
    }

    /// W = [1, 2], XX = [[4, 2], [2, 4]], column 1 pruned, no damping: the optimum of
    /// ‖X(w − w₀)‖² with w₁ = 0 is w₀ = 1 + (2/4)·2 = 2. ADMM with ρ = 1 converges to it.
    @Test func fixedMaskConvergesToLeastSquares() throws {
        var mask = PruningMask(rows: 1, cols: 2)
        mask[0, 1] = true
        let r = try ADMM.reconstruct(weight: Matrix([[1, 2]]), hessian: statistic([[4, 2], [2, 4]]), fixedMask: mask,
                                     sparsity: 0.5, pattern: .unstructured,
                                     options: ADMMOptions(iterations: 300, maskSteps: 0, rho: 1, percdamp: 0), layer: "t")
        #expect(abs(r.weight[0, 0] - 2) <= 1e-4 && r.weight[0, 1] == 0 && r.prunedCount == 1)
    }

    /// With the reference's damping ρ₀ = 0.1 the optimum is that of X̂ + ρ₀I in the normalised
    /// space: X̂ = [[1, .5], [.5, 1]], ŵ₀ = [2, 4] → ŵ = 2 + (.5/1.1)·4, w = ŵ/2 = 1 + 1/1.1.
    @Test func dampingShiftsTheOptimumAsTheReference() throws {
        var mask = PruningMask(rows: 1, cols: 2)
        mask[0, 1] = true
        let r = try ADMM.reconstruct(weight: Matrix([[1, 2]]), hessian: statistic([[4, 2], [2, 4]]), fixedMask: mask,
                                     sparsity: 0.5, pattern: .unstructured,
                                     options: ADMMOptions(iterations: 300, maskSteps: 0, rho: 1, percdamp: 0.1), layer: "t")
        #expect(abs(Double(r.weight[0, 0]) - (1 + 1 / 1.1)) <= 1e-4)
    }

    /// Own mask with zero iterations: the ⌊numel·s⌋ smallest |W·D| over the whole matrix.
    /// D = sqrt(diag XX) = [1, 3]: |W·D| = [[.5, 3], [2, .9]] → prune (0,0) and (1,1).
    @Test func ownMaskIsGlobalNormalisedMagnitude() throws {
        let r = try ADMM.reconstruct(weight: Matrix([[0.5, 1], [2, 0.3]]), hessian: statistic([[1, 0], [0, 9]]), fixedMask: nil,
                                     sparsity: 0.5, pattern: .unstructured,
                                     options: ADMMOptions(iterations: 0, maskSteps: 0), layer: "t")
        #expect(r.mask.pruned == [true, false, false, true])
        #expect(abs(r.weight[0, 1] - 1) <= 1e-6 && abs(r.weight[1, 0] - 2) <= 1e-6)
    }

    /// The reference defaults end with exactly ⌊numel·s⌋ pruned (unstructured) or an exact
    /// N:M pattern, and lower the layer error below the unreconstructed mask's.
    @Test func defaultsGiveExactCountsAndLowerError() throws {
        var g = TestRandom(seed: 7)
        let w = g.matrix(6, 8), x = g.matrix(32, 8)
        var xx = Matrix(rows: 8, cols: 8)
        Matrix.gemm(x, transposeA: true, x, transposeB: false, into: &xx)
        let h = statistic((0..<8).map { i in (0..<8).map { xx[i, $0] } })
        let oracle = (0..<8).map { i in (0..<8).map { Double(xx[i, $0]) } }
        let u = try ADMM.reconstruct(weight: w, hessian: h, fixedMask: nil, sparsity: 0.5, pattern: .unstructured,
                                     options: ADMMOptions(), layer: "t")
        #expect(u.prunedCount == 24)
        #expect(reconstructionError(original: w, pruned: u.weight, hessian: oracle)
            < reconstructionError(original: w, pruned: u.mask.apply(to: w), hessian: oracle))
        let nm = try ADMM.reconstruct(weight: w, hessian: h, fixedMask: nil, sparsity: 0.5, pattern: .nOfM(n: 2, m: 4),
                                      options: ADMMOptions(), layer: "t")
        for r in 0..<6 { for g in [0, 4] { #expect((g..<(g + 4)).filter { nm.mask[r, $0] }.count == 2) } }
    }
}

/// The plan's `"settings"` hold exactly the options the method reads.
@Suite struct PlanSettingsTests {
    @Test func settingsNameWhatTheMethodReads() throws {
        var options = PruningOptions(percdamp: 0.02)
        options.admm = ADMMOptions(iterations: 7)
        var plan = try SparsityPlan.make(method: .sparsegpt, pattern: .unstructured, target: 0.5, allocation: .uniform, blocks: 2)
        plan.settings = PlanSettings(method: .sparsegpt, options: options)
        let json = try JSONSerialization.jsonObject(with: plan.canonicalJSON()) as? [String: Any]
        let settings = json?["settings"] as? [String: Any]
        // ADMM picked its own mask, so SparseGPT's damping was never read.
        #expect(settings?["sparsegpt_damp"] == nil && settings?["admm_own_mask"] as? Bool == true)
        #expect((settings?["admm"] as? [String: Any])?["iterations"] as? Int == 7)
        #expect(try JSONDecoder().decode(SparsityPlan.self, from: plan.canonicalJSON()) == plan)
        let ria = PlanSettings(method: .ria, options: PruningOptions())
        #expect(ria.riaExponent == 0.5 && ria.sparsegptDamp == nil && ria.admm == nil)
        #expect(PlanSettings(method: .sparsegpt, options: PruningOptions(percdamp: 0.02)).sparsegptDamp == 0.02)
    }
}
