import Foundation
import Tensor
import TestSupport
import Testing

@Suite struct RowOpsTests {
    @Test func rmsNormMatchesHandComputation() {
        // Row [3, 4]: mean of squares 12.5, 1/sqrt(12.5 + 0.5) = 1/sqrt(13).
        let x = Matrix([[3, 4]])
        let y = x.rmsNormalized(weight: [1, 2], epsilon: 0.5)
        let s = 1 / Float(13).squareRoot()
        #expect(maxAbsDifference(y.elements, [3 * s, 8 * s]) < 1e-6)
    }

    @Test func swigluIsSiluTimesUp() {
        let g = Matrix([[0, 1, -2, 3, 0.5, -0.5, 10, -10, 2]])
        let u = Matrix([[1, 2, 3, 4, 5, 6, 7, 8, 9]])
        let z = Matrix.swiglu(gate: g, up: u)
        let expected = zip(g.elements, u.elements).map { x, y in Float(Double(x) / (1 + Foundation.exp(-Double(x)))) * y }
        #expect(maxAbsDifference(z.elements, expected) < 1e-5)
    }

    @Test func fastExpIsAccurateOverTheRange() {
        var worst: Double = 0
        var x: Float = -87
        while x < 88 {
            let got = Double(FastMath.exp(x))
            let want = Foundation.exp(Double(x))
            worst = max(worst, abs(got - want) / want)
            x += 0.0137
        }
        #expect(worst < 4 * Double(Float.ulpOfOne), "worst relative error \(worst)")
        #expect(FastMath.exp(-200) == 0)
        #expect(FastMath.exp(0) == 1)
    }

    @Test func linearIsXTimesWTransposed() {
        var rng = TestRandom(seed: 1)
        let x = rng.matrix(rows: 5, cols: 7)
        let w = rng.matrix(rows: 3, cols: 7)
        let y = x.linear(w)
        var naive = Matrix(rows: 5, cols: 3)
        for i in 0..<5 { for o in 0..<3 { var s: Float = 0; for j in 0..<7 { s += x[i, j] * w[o, j] }; naive[i, o] = s } }
        #expect(maxAbsDifference(y, naive) < 1e-5)
    }

    @Test func crossEntropyMatchesLogSoftmax() {
        var logits = Matrix([[1, 2, 3], [0, 0, 0]])
        let nll = CrossEntropy.negativeLogLikelihoods(logits: &logits, targets: [2, 1])
        let lse = Foundation.log(Foundation.exp(1.0) + Foundation.exp(2.0) + Foundation.exp(3.0))
        #expect(abs(Double(nll[0]) - (lse - 3)) < 1e-6)
        #expect(abs(Double(nll[1]) - Foundation.log(3.0)) < 1e-6)
    }

    @Test func bf16RoundsToNearestEven() {
        #expect(HalfPrecision.floatToBF16(1.0) == 0x3F80)
        // 1 + 2^-8 is exactly halfway between bf16 1.0 and 1.0078125: ties go to the even (1.0).
        #expect(HalfPrecision.floatToBF16(1.00390625) == 0x3F80)
        // 1 + 3·2^-8 is halfway between 1.0078125 (odd) and 1.015625 (even).
        #expect(HalfPrecision.floatToBF16(1.01171875) == 0x3F82)
        #expect(HalfPrecision.bf16ToFloat(0xC000) == -2)
        #expect(HalfPrecision.floatToBF16(.nan) & 0x7FC0 == 0x7FC0)
    }
}

@Suite struct SplitMix64Tests {
    /// docs/algorithms.md §2.2 test vector (seed 0) and the worked example T = 1000, L = 100.
    @Test func matchesTheSpecificationVectors() {
        var g = SplitMix64(seed: 0)
        let outputs = [g.next(), g.next(), g.next()]
        #expect(outputs == [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F])
        #expect(outputs.map { $0 % 901 } == [12, 777, 77])
    }
}
