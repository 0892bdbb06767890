import Foundation
import Tensor

/// The repository root, found from this file's path with symlinks resolved (helpers build
/// the tests through a symlinked dev package).
let repositoryRoot: URL = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A small deterministic generator for test matrices (SplitMix64 → uniform in [-1, 1)).
struct TestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Float { Float(Double(next() >> 11) / Double(1 << 53) * 2 - 1) }
    mutating func matrix(_ rows: Int, _ cols: Int) -> Matrix {
        Matrix(rows: rows, cols: cols, elements: (0..<(rows * cols)).map { _ in uniform() })
    }
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

/// `(w − w')ᵀ H (w − w')` summed over rows, in float64: the layer's reconstruction error.
func reconstructionError(original: Matrix, pruned: Matrix, hessian: [[Double]]) -> Double {
    var total = 0.0
    for r in 0..<original.rows {
        let d = (0..<original.cols).map { Double(original[r, $0]) - Double(pruned[r, $0]) }
        for i in d.indices { for j in d.indices { total += d[i] * hessian[i][j] * d[j] } }
    }
    return total
}

/// Gauss–Jordan inverse in float64 for tiny test matrices (test oracle only).
func invert(_ a: [[Double]]) -> [[Double]] {
    let n = a.count
    var m = a.enumerated().map { i, row in row + (0..<n).map { $0 == i ? 1.0 : 0.0 } }
    for c in 0..<n {
        let p = (c..<n).max { abs(m[$0][c]) < abs(m[$1][c]) }!
        m.swapAt(c, p)
        let pivot = m[c][c]
        m[c] = m[c].map { $0 / pivot }
        for r in 0..<n where r != c {
            let f = m[r][c]
            m[r] = zip(m[r], m[c]).map { $0 - f * $1 }
        }
    }
    return m.map { Array($0[n...]) }
}
