import Foundation
import Tensor
import TestSupport
import Testing

/// AdamW and gradient clipping against torch.optim.AdamW and torch.nn.utils.clip_grad_norm_
/// (Tests/Fixtures/transformers/make_gradient_fixtures.py writes gradients/adamw.json: four
/// steps with LLM-Streamline's settings, two of them clipped), the MSE loss, and RoPE's transpose.
@Suite struct OptimizerTests {
    struct Step: Decodable {
        let gradients: [[Float]]
        let learning_rate: Double
        let norm: Double
        let clipped: [[Float]]
        let parameters: [[Float]]
    }

    struct Reference: Decodable {
        let initial: [[Float]]
        let weight_decay: Double
        let max_norm: Double
        let steps: [Step]
    }

    static func reference() throws -> Reference {
        let url = try RepoPaths.require(RepoPaths.root.appendingPathComponent("Tests/Fixtures/transformers/gradients/adamw.json"))
        return try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }

    /// Runs the reference's steps; returns the largest |Δ| of clipped gradients and parameters.
    static func run(_ r: Reference, weightDecay: Double, clip: Bool) -> (gradient: Float, parameter: Float, norms: [Double]) {
        var parameters = r.initial
        var optimizer = AdamW(sizes: parameters.map(\.count), weightDecay: weightDecay)
        var worstGradient: Float = 0, worstParameter: Float = 0
        var norms: [Double] = []
        for step in r.steps {
            var g = step.gradients
            if clip { norms.append(GradientClipping.clip(&g, maxNorm: r.max_norm)) }
            worstGradient = max(worstGradient, maxAbsDifference(g.flatMap { $0 }, step.clipped.flatMap { $0 }))
            optimizer.update(&parameters, gradients: g, learningRate: step.learning_rate)
            worstParameter = max(worstParameter, maxAbsDifference(parameters.flatMap { $0 }, step.parameters.flatMap { $0 }))
        }
        #expect(optimizer.step == r.steps.count)
        return (worstGradient, worstParameter, norms)
    }

    @Test func adamWAndClippingMatchTorch() throws {
        let r = try Self.reference()
        #expect(r.steps[0].learning_rate == 0 && r.steps.filter { $0.norm > r.max_norm }.count == 2)
        let got = Self.run(r, weightDecay: r.weight_decay, clip: true)
        print("AdamW vs torch: max |Δ clipped gradient| \(got.gradient), max |Δ parameter| \(got.parameter)")
        for (mine, step) in zip(got.norms, r.steps) { #expect(abs(mine - step.norm) <= 1e-6 * step.norm, "norm \(mine) vs \(step.norm)") }
        #expect(got.gradient <= 1e-6)
        // Parameters are O(1) and move by ~1e-4 per step: two float32 ulps of 1 is 2.4e-7.
        #expect(got.parameter <= 2.5e-7)
        // Controls: torch's default weight decay (1e-2) or no clipping leave the parameters elsewhere.
        #expect(Self.run(r, weightDecay: 1e-2, clip: true).parameter > 1e-6)
        #expect(Self.run(r, weightDecay: r.weight_decay, clip: false).parameter > 1e-6)
    }

    @Test func clippingLeavesSmallGradientsAlone() {
        var g: [[Float]] = [[3, 0], [4]]
        #expect(GradientClipping.clip(&g, maxNorm: 5.5) == 5)
        #expect(g == [[3, 0], [4]])
        #expect(GradientClipping.clip(&g, maxNorm: 2.5) == 5)
        #expect(abs(g[0][0] - 1.5) < 1e-6 && abs(g[1][0] - 2) < 1e-6)
    }

    @Test func meanSquaredErrorAndItsGradient() {
        let y = Matrix(rows: 2, cols: 2, elements: [1, 2, 3, 4]), t = Matrix(rows: 2, cols: 2, elements: [0, 2, 5, 4])
        #expect(MeanSquaredError.sumOfSquares(prediction: y, target: t) == 5)
        // Over a step of 8 elements (this window and another): 2·(y − t)/8.
        #expect(MeanSquaredError.gradient(prediction: y, target: t, elements: 8).elements == [0.25, 0, -0.5, 0])
    }

    /// ⟨R·x, y⟩ = ⟨x, Rᵀ·y⟩ for the rotation of every RoPE variant's table shape, with a scaled
    /// table (YaRN's attention factor) too; the control: R itself is not its own transpose.
    @Test func ropeTransposeIsTheAdjoint() {
        var random = TestRandom(seed: 7)
        for scaling: Float in [1, 1.2] {
            let table = RoPETable(inverseFrequencies: [1, 0.1, 0.01, 0.001], positions: 6, attentionScaling: scaling)
            let x = random.matrix(rows: 6, cols: 16), y = random.matrix(rows: 6, cols: 16)
            var rx = x, rty = y, ry = y
            table.apply(to: &rx, heads: 2)
            table.applyTransposed(to: &rty, heads: 2)
            table.apply(to: &ry, heads: 2)
            func dot(_ a: Matrix, _ b: Matrix) -> Double { zip(a.elements, b.elements).reduce(0) { $0 + Double($1.0) * Double($1.1) } }
            #expect(abs(dot(rx, y) - dot(x, rty)) < 1e-5)
            #expect(abs(dot(rx, y) - dot(x, ry)) > 1e-2)
        }
    }
}
