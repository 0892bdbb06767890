import Tensor

/// ReplaceMe's training-free linear replacement (Shopkhoev et al. 2025; mts-ai/ReplaceMe
/// `ReplaceMe/lstsq.py: lstsq`), the `--replacement linear` of issue 24. Blocks [s, e) are cut;
/// block s − 1, the last one kept before the cut, gets one linear map T (hidden × hidden) folded
/// into its down projection, so the model keeps its stock shape.
///
/// What the authors' code estimates, read from `lstsq` (the `merge_consecutive` first block):
/// - M, the output of block s − 1's MLP (a forward hook on `layer.mlp`: the down projection's
///   output before the residual add), tokens × hidden;
/// - Y = h_e + M − h_s, with h_s = the output of block s − 1 (the state entering the cut) and
///   h_e the state leaving it (`hidden_states[1:]` indexed by layer), so that the kept residual
///   h_s − M plus M·T approximates h_e;
/// - T = (MᵀM + α·I)⁻¹ · MᵀY, both Gram matrices accumulated in float64 over every token of every
///   batch (`a1t_a1`, `a1t_a2` are float64), α the ridge factor (`alpha`, 0 in every shipped
///   config), the inverse taken in float64 (`torch.linalg.inv`);
/// - the new down projection Tᵀ·W_down, computed in float64 and rounded to the checkpoint's dtype.
///
/// Departures: the inverse comes from a float64 Cholesky factor (the Gram matrix plus a
/// non-negative ridge is symmetric positive semi-definite; a singular one — fewer tokens than
/// hidden dimensions with α = 0 — is refused instead of inverted into garbage), and only real
/// tokens enter the sums (the authors pad each batch to its longest text and sum the padding
/// positions too; owlprune's windows have no padding).
///
/// Each window's products are a term computed where the window lives; terms are folded in window
/// order (`add`), so the sums — and T — are the same bits for any rank count.
public struct ReplaceMeEstimate: Sendable, Equatable {
    public let hidden: Int
    /// MᵀM and MᵀY, hidden × hidden, float64.
    public private(set) var gram: DoubleMatrix
    public private(set) var cross: DoubleMatrix
    public private(set) var tokens: Int

    public init(hidden: Int) {
        precondition(hidden > 0, "ReplaceMe: hidden size must be positive")
        self.hidden = hidden
        gram = DoubleMatrix(rows: hidden, cols: hidden, elements: [Double](repeating: 0, count: hidden * hidden))
        cross = gram
        tokens = 0
    }

    /// The running sums after some windows, as a window-order chain passes them from rank to
    /// rank (`flattened` of the previous rank): MᵀM then MᵀY, row-major.
    public init(hidden: Int, flattened state: [Double], tokens: Int) {
        precondition(state.count == 2 * hidden * hidden, "ReplaceMe: a state of \(state.count) values for width \(hidden)")
        self.hidden = hidden
        gram = DoubleMatrix(rows: hidden, cols: hidden, elements: Array(state[0..<(hidden * hidden)]))
        cross = DoubleMatrix(rows: hidden, cols: hidden, elements: Array(state[(hidden * hidden)...]))
        self.tokens = tokens
    }

    /// MᵀM then MᵀY, row-major (what `init(hidden:flattened:tokens:)` restores).
    public var flattened: [Double] { gram.elements + cross.elements }

    /// One window's contribution, computed wherever the window lives: MᵀM and MᵀY of its tokens
    /// (each a float64 dgemm of exactly the window's shape, so the same bits on any rank).
    public struct Term: Sendable, Equatable {
        public let gram: DoubleMatrix
        public let cross: DoubleMatrix
        public let tokens: Int
    }

    /// The term of one window: `mlpOutput` M of block s − 1, `cutInput` h_s (that block's
    /// output) and `cutOutput` h_e (the state the cut's last block produced), tokens × hidden each.
    public static func term(mlpOutput: Matrix, cutInput: Matrix, cutOutput: Matrix) -> Term {
        let hidden = mlpOutput.cols
        precondition(cutInput.cols == hidden && cutOutput.cols == hidden, "ReplaceMe: states must have \(hidden) columns")
        precondition(mlpOutput.rows == cutInput.rows && cutInput.rows == cutOutput.rows, "ReplaceMe: token counts differ")
        let m = DoubleMatrix(mlpOutput)
        var y = DoubleMatrix(cutOutput)
        for i in y.elements.indices {
            y.elements[i] = y.elements[i] + m.elements[i] - Double(cutInput.elements[i])
        }
        let zero = DoubleMatrix(rows: hidden, cols: hidden, elements: [Double](repeating: 0, count: hidden * hidden))
        var gram = zero, cross = zero
        DoubleMatrix.gemm(m, transposeA: true, m, transposeB: false, into: &gram)
        DoubleMatrix.gemm(m, transposeA: true, y, transposeB: false, into: &cross)
        return Term(gram: gram, cross: cross, tokens: mlpOutput.rows)
    }

    /// Folds one window's term into the sums; terms must come in window order (the fold of
    /// docs/design.md's window-order chain), which makes the sums independent of the rank count.
    public mutating func add(_ term: Term) {
        precondition(term.gram.rows == hidden && term.cross.rows == hidden, "ReplaceMe: a term of width \(term.gram.rows) for \(hidden)")
        for i in gram.elements.indices {
            gram.elements[i] += term.gram.elements[i]
            cross.elements[i] += term.cross.elements[i]
        }
        tokens += term.tokens
    }

    /// T = (MᵀM + ridge·I)⁻¹·MᵀY in float64; nil when the regularised Gram matrix is singular
    /// to working precision (too few tokens for the hidden size and no ridge): LAPACK may still
    /// factor such a matrix on rounding noise, so a pivot below 1e-12 of the largest diagonal
    /// entry counts as zero.
    public func transform(ridge: Double = 0) -> DoubleMatrix? {
        precondition(ridge >= 0, "ReplaceMe: the ridge factor must be non-negative")
        var a = gram
        for i in 0..<hidden { a.elements[i * hidden + i] += ridge }
        let largest = (0..<hidden).map { a.elements[$0 * hidden + $0] }.max() ?? 0
        guard largest > 0, let factor = a.choleskyLower(),
              (0..<hidden).allSatisfy({ factor[$0, $0] * factor[$0, $0] > 1e-12 * largest }),
              let inverse = factor.inverseFromLowerCholesky() else { return nil }
        var t = DoubleMatrix(rows: hidden, cols: hidden, elements: [Double](repeating: 0, count: hidden * hidden))
        DoubleMatrix.gemm(inverse, transposeA: false, cross, transposeB: false, into: &t)
        return t
    }

    /// The down projection with T folded in: Tᵀ·W (hidden × intermediate), computed in float64
    /// from the float32 weight and rounded once, as the authors compute it before casting.
    public static func foldedDownProjection(_ weight: Matrix, transform t: DoubleMatrix) -> Matrix {
        precondition(t.rows == weight.rows && t.cols == weight.rows, "ReplaceMe: T is \(t.rows)×\(t.cols), down has \(weight.rows) rows")
        var out = DoubleMatrix(rows: weight.rows, cols: weight.cols, elements: [Double](repeating: 0, count: weight.count))
        DoubleMatrix.gemm(t, transposeA: true, DoubleMatrix(weight), transposeB: false, into: &out)
        return out.rounded()
    }
}
