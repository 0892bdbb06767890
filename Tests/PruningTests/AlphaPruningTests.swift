import Foundation
import Tensor
import Testing
@testable import Pruning

/// AlphaPruning against hand-computed cases (haiquanlu/AlphaPruning `net_esd_estimator`,
/// `ww_sparsity`; docs/algorithms.md §14).
@Suite struct AlphaPruningTests {
    /// `xmin_mid`: N = 4, i = ⌊4/2⌋ = 2, n = 2: α = 1 + 2/(ln 4 + ln 8 − 2 ln 4) = 1 + 2/ln 2.
    @Test func midFit() {
        let a = AlphaPruning.alpha(eigenvalues: [1, 2, 4, 8], fit: .mid)
        #expect(abs(a - (1 + 2 / log(2.0))) <= 1e-12)
    }

    /// `xmin_peak` on λ = [2, 3, 5, 5, 5, 40]: log10 λ spans [0.301, 1.602]; the fullest of 100
    /// bins holds the three 5s (bin 30, left edge 10^0.6913 ≈ 4.913). Candidates run from the
    /// reference's lower bound log10(0.95·4.913) ≈ 0.669 — in log units, so λ = 2 and 3 are
    /// candidates — up to 1.5·4.913 ≈ 7.37 (i = 0…4). KS distances: i = 0 → 0.2576 (smallest),
    /// i = 1 → 0.2618, i = 2 → 0.5, i = 3 → 1/3, i = 4 → 0.3647. So x_min = 2, n = 6 and
    /// α = 1 + 6/(Σ ln λ − 6 ln 2) = 1 + 6/ln(2·3·5³·40/2⁶) = 1 + 6/ln 468.75.
    /// With the lower bound read as 0.95·x_peak the fit would start at i = 3 (α = 1 + 3/ln 8).
    @Test func peakFitKeepsTheReferenceLowerBound() {
        let a = AlphaPruning.alpha(eigenvalues: [2, 3, 5, 5, 5, 40], fit: .peak)
        #expect(abs(a - (1 + 6 / log(2.0 * 3 * 125 * 40 / 64))) <= 1e-12)
        #expect(abs(a - (1 + 3 / log(8.0))) > 0.1)
    }

    /// λ = [1, 10, 10, 10, 100, 1000]: peak bin 33 (edge 10^0.99), candidates i = 0…3 with
    /// D = 0.361, 0.4, 0.25, 0.299; the tie-free minimum is i = 2: α = 1 + 4/(3 ln 10).
    @Test func peakFitPicksSmallestDistance() {
        let a = AlphaPruning.alpha(eigenvalues: [1, 10, 10, 10, 100, 1000], fit: .peak)
        #expect(abs(a - (1 + 4 / (3 * log(10.0)))) <= 1e-12)
    }

    /// Eigenvalues of WᵀW are the squared singular values, min(rows, cols) of them, ascending.
    @Test func gramEigenvaluesOfKnownMatrices() throws {
        // Rows orthogonal with norms 3 and 4 (wide: W·Wᵀ = diag(9, 16)).
        let wide = Matrix([[3, 0, 0], [0, 0, 4]])
        let e = try #require(wide.gramEigenvalues())
        #expect(e.count == 2 && abs(e[0] - 9) <= 1e-12 && abs(e[1] - 16) <= 1e-12)
        // [[2, 1], [1, 2]] is symmetric with eigenvalues 1 and 3; tall copy stacks a zero row.
        let tall = Matrix([[2, 1], [1, 2], [0, 0]])
        let t = try #require(tall.gramEigenvalues())
        #expect(t.count == 2 && abs(t[0] - 1) <= 1e-12 && abs(t[1] - 9) <= 1e-12)
    }

    @Test func rankDeficientWeightIsAnErrorNamingIt() {
        let w = Matrix([[1, 2], [2, 4]])
        #expect { try AlphaPruning.alpha(of: w, layer: "model.layers.3.mlp.up_proj.weight", fit: .peak) } throws: { error in
            "\(error)".contains("model.layers.3.mlp.up_proj.weight")
        }
    }

    /// metrics [2, 3, 4], s = 0.5, ε = 0.3: r = [0.7, 1.0, 1.3], scaler = 0.5·3/3 = 0.5 →
    /// [0.35, 0.5, 0.65]; the largest α (lightest tail) is pruned most.
    @Test func mapping() throws {
        let s = try AlphaPruning.sparsities(metrics: [2, 3, 4], target: 0.5, epsilon: 0.3)
        for (got, want) in zip(s, [0.35, 0.5, 0.65]) { #expect(abs(got - want) <= 1e-12) }
        // Unequal spacing: metrics [1, 1, 4] → r = [0.7, 0.7, 1.3], scaler = 0.6·3/2.7.
        let u = try AlphaPruning.sparsities(metrics: [1, 1, 4], target: 0.6, epsilon: 0.3)
        for (got, want) in zip(u, [0.7, 0.7, 1.3].map { $0 * 0.6 * 3 / 2.7 }) { #expect(abs(got - want) <= 1e-12) }
        #expect(abs(u.reduce(0, +) / 3 - 0.6) <= 1e-12)
    }

    @Test func degenerateAndInvalid() throws {
        #expect(try AlphaPruning.sparsities(metrics: [3, 3], target: 0.7, epsilon: 0.3) == [0.7, 0.7])
        // s = 0.8, ε = 0.3: the last block gets 1.3·0.8 = 1.04.
        #expect { try AlphaPruning.sparsities(metrics: [2, 3, 4], target: 0.8, epsilon: 0.3) } throws: { error in
            "\(error)".contains("--alpha-epsilon") && "\(error)".contains("block 2")
        }
        #expect(throws: PruningError.self) { try AlphaPruning.sparsities(metrics: [2, 3], target: 0.5, epsilon: 1) }
    }

    @Test func planRecordsMetricsAndRange() throws {
        let plan = try SparsityPlan.make(method: .wanda, pattern: .unstructured, target: 0.5,
                                         allocation: .alpha(epsilon: 0.3, fit: .peak), blocks: 3, outlierRatios: [2, 3, 4])
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(plan)) as? [String: Any]
        #expect(json?["allocation"] as? String == "alpha" && json?["alpha_epsilon"] as? Double == 0.3)
        #expect(json?["alpha_fit"] as? String == "peak" && json?["alpha_metrics"] as? [Double] == [2, 3, 4])
        #expect(try JSONDecoder().decode(SparsityPlan.self, from: JSONEncoder().encode(plan)) == plan)
    }
}
