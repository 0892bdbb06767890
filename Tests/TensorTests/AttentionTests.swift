import Foundation
import Tensor
import TestSupport
import Testing

@Suite struct AttentionTests {
    /// Plain-loop causal GQA attention, the oracle the BLAS version is checked against.
    /// With `window` w, query i sees keys j with i − w < j ≤ i (transformers' sliding window).
    func naive(q: Matrix, k: Matrix, v: Matrix, heads: Int, kvHeads: Int, d: Int, window: Int? = nil) -> Matrix {
        var out = Matrix(rows: q.rows, cols: heads * d)
        for h in 0..<heads {
            let g = h / (heads / kvHeads)
            for i in 0..<q.rows {
                let first = window.map { max(0, i - $0 + 1) } ?? 0
                var s = [Double](repeating: -.infinity, count: i + 1)
                for j in first...i {
                    var dot = 0.0
                    for c in 0..<d { dot += Double(q[i, h * d + c]) * Double(k[j, g * d + c]) }
                    s[j] = dot / Double(d).squareRoot()
                }
                let m = s.max()!
                let e = s.map { Foundation.exp($0 - m) }
                let z = e.reduce(0, +)
                for c in 0..<d {
                    var acc = 0.0
                    for j in first...i { acc += e[j] / z * Double(v[j, g * d + c]) }
                    out[i, h * d + c] = Float(acc)
                }
            }
        }
        return out
    }

    /// Sliding windows shorter and longer than a chunk, against the oracle; a window no shorter
    /// than the sequence gives exactly the bits of plain causal attention.
    @Test(arguments: [1, 5, 16, 40]) func slidingWindowMatchesNaive(window: Int) {
        var rng = TestRandom(seed: 13)
        let (t, heads, kv, d) = (45, 4, 2, 8)
        let q = rng.matrix(rows: t, cols: heads * d), k = rng.matrix(rows: t, cols: kv * d), v = rng.matrix(rows: t, cols: kv * d)
        let fast = Attention.causal(q: q, k: k, v: v, heads: heads, kvHeads: kv, headDim: d, window: window, queryChunk: 16)
        let slow = naive(q: q, k: k, v: v, heads: heads, kvHeads: kv, d: d, window: window)
        #expect(maxAbsDifference(fast, slow) < 1e-5)
        let full = Attention.causal(q: q, k: k, v: v, heads: heads, kvHeads: kv, headDim: d, queryChunk: 16)
        #expect(maxAbsDifference(fast, full) > 1e-3, "window \(window) changed nothing")
        #expect(Attention.causal(q: q, k: k, v: v, heads: heads, kvHeads: kv, headDim: d, window: t, queryChunk: 16) == full)
        let windowed = Attention.productPairs(tokens: t, headDim: d, window: window, queryChunk: 16)
        let causal = Attention.productPairs(tokens: t, headDim: d, queryChunk: 16)
        // Only chunks whose first row's window starts after key 0 skip keys.
        #expect(window < 32 ? windowed < causal : windowed == causal)
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
