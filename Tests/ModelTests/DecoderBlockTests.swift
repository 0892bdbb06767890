import Foundation
@testable import Model
import Tensor
import TestSupport
import Testing

@Suite struct DecoderBlockTests {
    let shape = BlockShape(hiddenSize: 8, intermediateSize: 12, heads: 2, kvHeads: 1, headDim: 4, rmsNormEpsilon: 1e-5)

    func block(seed: UInt64) -> DecoderBlock {
        var rng = TestRandom(seed: seed)
        var weights: [BlockLinear: Matrix] = [:]
        for l in BlockLinear.allCases {
            let s = shape.weightShape(l)
            weights[l] = rng.matrix(rows: s.rows, cols: s.cols, scale: 0.5)
        }
        return DecoderBlock(index: 0, shape: shape, weights: weights, inputNorm: (0..<8).map { 1 + Float($0) / 10 },
                            postAttentionNorm: (0..<8).map { 1 - Float($0) / 20 })
    }

    /// The block against a plain-loop float64 transcription of docs/algorithms.md §1.1.
    @Test func forwardMatchesPlainTranscription() {
        let b = block(seed: 3)
        var rng = TestRandom(seed: 4)
        let h = rng.matrix(rows: 5, cols: 8)
        let inv = defaultInverseFrequencies(headDim: 4, base: 10000)
        let out = b.forward(h, rope: RoPETable(inverseFrequencies: inv, positions: 5))

        func rms(_ x: [Double], _ w: [Float]) -> [Double] {
            let s = 1 / (x.map { $0 * $0 }.reduce(0, +) / Double(x.count) + 1e-5).squareRoot()
            return x.indices.map { Double(w[$0]) * x[$0] * s }
        }
        func lin(_ x: [Double], _ w: Matrix) -> [Double] {
            (0..<w.rows).map { o in (0..<w.cols).reduce(0.0) { $0 + x[$1] * Double(w[o, $1]) } }
        }
        func rope(_ v: [Double], pos: Int) -> [Double] {
            var r = v
            for i in 0..<2 {
                let a = Double(pos) * Double(inv[i])
                r[i] = v[i] * cos(a) - v[i + 2] * sin(a)
                r[i + 2] = v[i + 2] * cos(a) + v[i] * sin(a)
            }
            return r
        }
        let x = (0..<5).map { t in (0..<8).map { Double(h[t, $0]) } }
        let a = x.map { rms($0, b.inputNorm) }
        let q = a.enumerated().map { t, v in let p = lin(v, b.weight(.q)); return rope(Array(p[0..<4]), pos: t) + rope(Array(p[4..<8]), pos: t) }
        let k = a.enumerated().map { t, v in rope(lin(v, b.weight(.k)), pos: t) }
        let v = a.map { lin($0, b.weight(.v)) }
        var expected: [[Double]] = []
        for t in 0..<5 {
            var attended = [Double](repeating: 0, count: 8)
            for head in 0..<2 {
                let scores = (0...t).map { j in (0..<4).reduce(0.0) { $0 + q[t][head * 4 + $1] * k[j][$1] } / 2 }
                let m = scores.max()!
                let e = scores.map { exp($0 - m) }
                let z = e.reduce(0, +)
                for c in 0..<4 { attended[head * 4 + c] = (0...t).reduce(0.0) { $0 + e[$1] / z * v[$1][c] } }
            }
            let h1 = zip(x[t], lin(attended, b.weight(.o))).map(+)
            let bb = rms(h1, b.postAttentionNorm)
            let g = lin(bb, b.weight(.gate)), u = lin(bb, b.weight(.up))
            let zz = zip(g, u).map { $0 / (1 + exp(-$0)) * $1 }
            expected.append(zip(h1, lin(zz, b.weight(.down))).map(+))
        }
        #expect(maxAbsDifference(out.elements, expected.flatMap { $0.map(Float.init) }) < 1e-4)
    }

    /// The statistics hook sees the four distinct inputs, in block order, with their widths.
    @Test func observerSeesFourInputsInOrder() {
        var seen: [(LinearInput, Int)] = []
        var rng = TestRandom(seed: 9)
        block(seed: 1).observeInputs(rng.matrix(rows: 3, cols: 8), rope: RoPETable(inverseFrequencies: [1, 0.1], positions: 3)) {
            seen.append(($0, $1.cols))
        }
        #expect(seen.map(\.0) == [.attention, .attentionOutput, .mlp, .down])
        #expect(seen.map(\.1) == [8, 8, 8, 12])
    }

    @Test func parameterCountAndShapes() {
        #expect(shape.weightShape(.k) == (4, 8) && shape.weightShape(.down) == (8, 12))
        #expect(shape.parameterCount == 2 * 8 + 8 * 8 * 2 + 4 * 8 * 2 + 12 * 8 * 3)
    }

    /// Llama-3 scaling keeps high frequencies, divides low ones by the factor (transformers'
    /// `_compute_llama3_parameters`).
    @Test func llama3RopeScaling() {
        let plain = defaultInverseFrequencies(headDim: 128, base: 500000)
        let scaled = llama3InverseFrequencies(headDim: 128, base: 500000, .init(
            factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositionEmbeddings: 8192))
        #expect(scaled[0] == plain[0])
        #expect(abs(scaled[63] - plain[63] / 8) <= plain[63] * 1e-6)
    }
}
