import Foundation

/// Rotary position embedding tables in the "rotate half" layout of transformers' Llama code
/// (`apply_rotary_pos_emb`): pair (i, i + d/2) of every head is rotated by angle p·θ_i.
/// Angles are formed as a float32 product `Float(p) * invFreq[i]`, as transformers does, then
/// cos/sin are taken in double and rounded once, so tables match torch's float32 cos/sin.
/// `attentionScaling` multiplies both afterwards in float32, as transformers' rotary embedding
/// does with its `attention_scaling` (YaRN's mscale; 1 otherwise).
public struct RoPETable: Sendable {
    public let headDim: Int
    public let positions: Int
    private let cosTable: [Float]  // positions × headDim/2
    private let sinTable: [Float]

    public init(inverseFrequencies: [Float], positions: Int, attentionScaling: Float = 1) {
        let half = inverseFrequencies.count
        self.headDim = half * 2
        self.positions = positions
        var c = [Float](repeating: 0, count: positions * half)
        var s = [Float](repeating: 0, count: positions * half)
        for p in 0..<positions {
            for i in 0..<half {
                let angle = Double(Float(p) * inverseFrequencies[i])
                c[p * half + i] = Float(Foundation.cos(angle)) * attentionScaling
                s[p * half + i] = Float(Foundation.sin(angle)) * attentionScaling
            }
        }
        cosTable = c
        sinTable = s
    }

    /// Rotates every head of `x` (tokens × heads·headDim) in place; token t sits at position t.
    public func apply(to x: inout Matrix, heads: Int) {
        precondition(x.cols == heads * headDim, "RoPE: \(x.cols) columns for \(heads) heads of \(headDim)")
        precondition(x.rows <= positions, "RoPE: \(x.rows) tokens exceed the table's \(positions) positions")
        let half = headDim / 2
        let cols = x.cols
        cosTable.withUnsafeBufferPointer { cs in
            sinTable.withUnsafeBufferPointer { sn in
                x.elements.withUnsafeMutableBufferPointer { buf in
                    for t in 0..<x.rows {
                        let c = cs.baseAddress! + t * half
                        let s = sn.baseAddress! + t * half
                        for h in 0..<heads {
                            let v = buf.baseAddress! + t * cols + h * headDim
                            for i in 0..<half {
                                let a = v[i]
                                let b = v[i + half]
                                v[i] = a * c[i] - b * s[i]
                                v[i + half] = b * c[i] + a * s[i]
                            }
                        }
                    }
                }
            }
        }
    }
}
