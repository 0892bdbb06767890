import Foundation
import Tensor
import TestSupport
import Testing

@Suite struct AttentionTests {
    /// Plain-loop causal GQA attention, the oracle the BLAS version is checked against.
    func naive(q: Matrix, k: Matrix, v: Matrix, heads: Int, kvHeads: Int, d: Int) -> Matrix {
        var out = Matrix(rows: q.rows, cols: heads * d)
        for h in 0..<heads {
            let g = h / (heads / kvHeads)
            for i in 0..<q.rows {
                var s = [Double](repeating: 0, count: i + 1)
                for j in 0...i {
                    var dot = 0.0
                    for c in 0..<d { dot += Double(q[i, h * d + c]) * Double(k[j, g * d + c]) }
                    s[j] = dot / Double(d).squareRoot()
                }
                let m = s.max()!
                let e = s.map { Foundation.exp($0 - m) }
                let z = e.reduce(0, +)
                for c in 0..<d {
                    var acc = 0.0
                    for j in 0...i { acc += e[j] / z * Double(v[j, g * d + c]) }
                    out[i, h * d + c] = Float(acc)
                }
            }
        }
        return out
    }

    @Test func firstTokenAttendsOnlyToItself() {
        // With one token the softmax is [1], so the output is v itself, whatever q and k are.
        let q = Matrix([[1, 2, 3, 4]]), k = Matrix([[5, 6]]), v = Matrix([[0.25, -1]])
        let o = Attention.causal(q: q, k: k, v: v, heads: 2, kvHeads: 1, headDim: 2)
        #expect(o.elements == [0.25, -1, 0.25, -1])
    }

    @Test func twoHeadToyCaseByHand() {
        // One head, d = 1: token 1 scores [q1·k0, q1·k1] = [1·0, 1·ln 3] → softmax [1/4, 3/4].
        let q = Matrix([[0], [1]]), k = Matrix([[0], [Float(Foundation.log(3.0))]]), v = Matrix([[4], [8]])
        let o = Attention.causal(q: q, k: k, v: v, heads: 1, kvHeads: 1, headDim: 1)
        #expect(abs(o[1, 0] - 7) < 1e-5)
        #expect(o[0, 0] == 4)
    }

    @Test func groupedQueryMatchesNaive() {
        var rng = TestRandom(seed: 7)
        let (t, heads, kv, d) = (13, 6, 2, 8)
        let q = rng.matrix(rows: t, cols: heads * d), k = rng.matrix(rows: t, cols: kv * d), v = rng.matrix(rows: t, cols: kv * d)
        let fast = Attention.causal(q: q, k: k, v: v, heads: heads, kvHeads: kv, headDim: d)
        let slow = naive(q: q, k: k, v: v, heads: heads, kvHeads: kv, d: d)
        #expect(maxAbsDifference(fast, slow) < 1e-5)
    }

    /// Query chunks (here 16 rows, the last one partial) against only the keys they can see give
    /// the oracle's result, and the product count is the triangle's, not the square's.
    @Test func chunkedQueriesMatchNaive() {
        var rng = TestRandom(seed: 11)
        let (t, heads, kv, d) = (45, 4, 2, 8)
        let q = rng.matrix(rows: t, cols: heads * d), k = rng.matrix(rows: t, cols: kv * d), v = rng.matrix(rows: t, cols: kv * d)
        let slow = naive(q: q, k: k, v: v, heads: heads, kvHeads: kv, d: d)
        for chunk in [1, 16, 45, 64] {
            let fast = Attention.causal(q: q, k: k, v: v, heads: heads, kvHeads: kv, headDim: d, queryChunk: chunk)
            #expect(maxAbsDifference(fast, slow) < 1e-5, "query chunk \(chunk)")
        }
        // Chunks of 16 over 45 rows: 16·16 + 16·32 + 13·45 score entries, each product over d.
        #expect(Attention.productPairs(tokens: 45, headDim: d, queryChunk: 16) == 2 * (16 * 16 + 16 * 32 + 13 * 45) * d)
        #expect(Attention.productPairs(tokens: 45, headDim: d, queryChunk: 64) == 2 * 45 * 45 * d)
    }

    @Test func ropeRotatesPairsByPositionTimesFrequency() {
        // head_dim 4: pairs (0,2) with θ0 = 1 and (1,3) with θ1 = 0.5. Position 1 rotates by 1 and 0.5 rad.
        let rope = RoPETable(inverseFrequencies: [1, 0.5], positions: 2)
        var x = Matrix([[1, 1, 0, 0], [1, 1, 0, 0]])
        rope.apply(to: &x, heads: 1)
        #expect(x.elements[0...3] == [1, 1, 0, 0])
        let expected: [Float] = [Float(Foundation.cos(1.0)), Float(Foundation.cos(0.5)), Float(Foundation.sin(1.0)), Float(Foundation.sin(0.5))]
        #expect(maxAbsDifference(Array(x.elements[4...7]), expected) < 1e-6)
    }
}
