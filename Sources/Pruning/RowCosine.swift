import Tensor

/// The per-token cosine between two hidden-state matrices, written once for the two depth
/// scores that read it: ShortGPT's Block Influence (`BlockInfluence.cosineSum`) and
/// LLM-Streamline's run similarity (`StreamlineScores.similaritySum`). They differ only in what a
/// token contributes and in their rule for a zero state, which each passes as `term`.
enum RowCosine {
    /// Σ over rows t, in row order, of `term(dot, ‖a_t‖, ‖b_t‖)`: the product and both squared norms
    /// are float64 sums over the columns, in index order, of the float32 states, and each norm is
    /// the square root of its sum.
    static func sum(_ a: Matrix, _ b: Matrix, term: (_ dot: Double, _ normA: Double, _ normB: Double) -> Double) -> Double {
        precondition(a.rows == b.rows && a.cols == b.cols, "row cosine: \(a.rows)×\(a.cols) vs \(b.rows)×\(b.cols)")
        let d = a.cols
        var total = 0.0
        a.withUnsafeElements { x in
            b.withUnsafeElements { y in
                for t in 0..<a.rows {
                    var dot = 0.0, xx = 0.0, yy = 0.0
                    for k in (t * d)..<((t + 1) * d) {
                        let u = Double(x[k]), v = Double(y[k])
                        dot += u * v
                        xx += u * u
                        yy += v * v
                    }
                    total += term(dot, xx.squareRoot(), yy.squareRoot())
                }
            }
        }
        return total
    }
}
