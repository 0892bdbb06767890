/// Backward passes of the row operations in Matrix+RowOps.swift and Matrix+HeadOps.swift, for
/// training one decoder layer (LLM-Streamline, docs/algorithms.md "LLM-Streamline"). Each one
/// differentiates exactly the float32 arithmetic its forward performs; sums that run over a row
/// or over the tokens of a window are accumulated in float64 and rounded once, so a gradient
/// does not depend on the order threads would visit the rows in (there is none: rows go in order).
extension Matrix {
    /// Gradients of `rmsNormalized(weight:epsilon:)` at input `self` given the output gradient
    /// `dy`. With r = 1/sqrt(mean(x²) + ε) (computed in float32 as the forward does) and
    /// g = dy ⊙ w: dx = r·g − x·r³·(g·x)/n, dw = Σ_rows dy ⊙ x·r.
    public func rmsNormBackward(weight: [Float], epsilon: Float, outputGradient dy: Matrix) -> (input: Matrix, weight: [Float]) {
        precondition(weight.count == cols, "rmsNorm backward: weight has \(weight.count) entries, rows have \(cols)")
        precondition(dy.rows == rows && dy.cols == cols, "rmsNorm backward: gradient shape differs from the input")
        var dx = Matrix(uninitializedRows: rows, cols: cols)
        var dw = [Double](repeating: 0, count: cols)
        let n = cols
        elements.withUnsafeBufferPointer { src in
            dy.elements.withUnsafeBufferPointer { gy in
                weight.withUnsafeBufferPointer { w in
                    dx.elements.withUnsafeMutableBufferPointer { dst in
                        dw.withUnsafeMutableBufferPointer { acc in
                            for r in 0..<rows {
                                let x = src.baseAddress! + r * n, g = gy.baseAddress! + r * n
                                var sum: Float = 0
                                for j in 0..<n { sum += x[j] * x[j] }
                                let scale = 1 / (sum / Float(n) + epsilon).squareRoot()
                                let s = Double(scale)
                                var dot = 0.0
                                for j in 0..<n {
                                    let gw = Double(g[j]) * Double(w[j])
                                    dot += gw * Double(x[j])
                                    acc[j] += Double(g[j]) * Double(x[j]) * s
                                }
                                let c = s * s * s * dot / Double(n)
                                let o = dst.baseAddress! + r * n
                                for j in 0..<n { o[j] = Float(s * Double(g[j]) * Double(w[j]) - Double(x[j]) * c) }
                            }
                        }
                    }
                }
            }
        }
        return (dx, dw.map { Float($0) })
    }

    /// Gradients of `headwiseRMSNormalized(headDim:weight:epsilon:)`: the row backward on the
    /// (tokens·heads) × headDim view, the weight gradient summed over every head of every token.
    public func headwiseRMSNormBackward(headDim: Int, weight: [Float], epsilon: Float,
                                        outputGradient dy: Matrix) -> (input: Matrix, weight: [Float]) {
        precondition(headDim > 0 && cols % headDim == 0, "headwise RMSNorm backward: \(cols) columns are not heads of \(headDim)")
        let viewRows = rows * (cols / headDim)
        let x = Matrix(rows: viewRows, cols: headDim, elements: elements)
        let g = Matrix(rows: viewRows, cols: headDim, elements: dy.elements)
        let (dx, dw) = x.rmsNormBackward(weight: weight, epsilon: epsilon, outputGradient: g)
        return (Matrix(rows: rows, cols: cols, elements: dx.elements), dw)
    }

    /// Gradients of `swiglu(gate:up:)` = silu(gate) ⊙ up given the output gradient `dz`, with
    /// σ = 1/(1 + exp(−g)) through FastMath as the forward evaluates it:
    /// d up = dz ⊙ g·σ, d gate = dz ⊙ up ⊙ σ·(1 + g·(1 − σ)).
    public static func swigluBackward(gate: Matrix, up: Matrix, outputGradient dz: Matrix) -> (gate: Matrix, up: Matrix) {
        precondition(gate.rows == up.rows && gate.cols == up.cols && dz.rows == gate.rows && dz.cols == gate.cols,
                     "swiglu backward: shape mismatch")
        var dg = Matrix(uninitializedRows: gate.rows, cols: gate.cols)
        var du = Matrix(uninitializedRows: gate.rows, cols: gate.cols)
        gate.elements.withUnsafeBufferPointer { g in
            up.elements.withUnsafeBufferPointer { u in
                dz.elements.withUnsafeBufferPointer { d in
                    dg.elements.withUnsafeMutableBufferPointer { og in
                        du.elements.withUnsafeMutableBufferPointer { ou in
                            for i in 0..<g.count {
                                let x = g[i]
                                let sigma = 1 / (1 + FastMath.exp(-x))
                                ou[i] = d[i] * (x * sigma)
                                og[i] = d[i] * u[i] * (sigma * (1 + x * (1 - sigma)))
                            }
                        }
                    }
                }
            }
        }
        return (dg, du)
    }

    /// Sum of each column over all rows, accumulated in float64 in row order: the gradient of a
    /// bias added to every row (`columnSums()` is the float32 sgemv of the statistics code).
    public func columnSumsInDouble() -> [Float] {
        var acc = [Double](repeating: 0, count: cols)
        elements.withUnsafeBufferPointer { src in
            for r in 0..<rows {
                let row = src.baseAddress! + r * cols
                for j in 0..<cols { acc[j] += Double(row[j]) }
            }
        }
        return acc.map { Float($0) }
    }

    /// Negates the second half of every `headDim`-wide head in place. Exact in floating point;
    /// RoPE's transpose is this, the rotation, and this again (RoPE+Transpose.swift).
    public mutating func negateSecondHalfOfEveryHead(headDim: Int) {
        precondition(headDim > 0 && headDim % 2 == 0 && cols % headDim == 0, "negate half: \(cols) columns, head \(headDim)")
        let half = headDim / 2
        elements.withUnsafeMutableBufferPointer { p in
            for start in stride(from: 0, to: p.count, by: headDim) {
                for i in (start + half)..<(start + headDim) { p[i] = -p[i] }
            }
        }
    }
}
