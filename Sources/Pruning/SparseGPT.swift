import Tensor

/// The factor SparseGPT uses in place of `H⁻¹` (docs/algorithms.md §6.1; IST-DASLab/sparsegpt
/// `sparsegpt.py: SparseGPT.fasterprune`): `U` upper triangular with `H_damped⁻¹ = Uᵀ U`.
public struct InverseHessianFactor: Sendable {
    /// `U`, rounded to float32 after the float64 factorizations.
    public var upper: Matrix
    /// Columns with `H_jj == 0` (their weights are zeroed unconditionally).
    public var dead: [Bool]

    /// A factor received from the rank that computed it (row-parallel SparseGPT).
    public init(upper: Matrix, dead: [Bool]) {
        self.upper = upper
        self.dead = dead
    }
}

/// Dead-column fix, relative damping, then `cholesky → cholesky_inverse → cholesky(upper)`.
///
/// The dead fix and damping are float32 like the reference; the three factorizations run in
/// float64 through LAPACK on the exactly promoted matrix (project rule, §6.1), which only
/// changes results at rounding level and makes the factorization less fragile. A failure is
/// a named error with a `--damp` hint, never a silent retry (§13.9).
public func inverseHessianFactor(hessian: Matrix, percdamp: Double, layer: String) throws -> InverseHessianFactor {
    let n = hessian.cols
    guard hessian.rows == n else {
        throw PruningError.shapeMismatch(layer: layer, detail: "Hessian is \(hessian.rows)x\(hessian.cols), not square")
    }
    guard percdamp.isFinite, percdamp >= 0 else {
        throw PruningError.invalidArgument(argument: "--damp", value: "\(percdamp)", reason: "must be a finite value ≥ 0")
    }
    var h = hessian
    var dead = [Bool](repeating: false, count: n)
    for j in 0..<n where h[j, j] == 0 {
        dead[j] = true
        h[j, j] = 1
    }
    var diagonalSum = 0.0
    for j in 0..<n { diagonalSum += Double(h[j, j]) }
    let mean = n == 0 ? Float(0) : Float(diagonalSum / Double(n))
    let damp = Float(percdamp) * mean
    for j in 0..<n { h[j, j] += damp }

    let failure = PruningError.hessianNotPositiveDefinite(layer: layer, damp: percdamp)
    guard let lower = DoubleMatrix(h).choleskyLower(),
          let inverse = lower.inverseFromLowerCholesky(),
          let upper = inverse.choleskyUpper() else { throw failure }
    return InverseHessianFactor(upper: upper.rounded(), dead: dead)
}

/// SparseGPT: blocked OBS with lazy batch updates (§6.2) on one rank. Returns the updated weight
/// (pruned entries exactly 0, kept entries carrying the OBS compensation) and the mask.
///
/// Unstructured masks are chosen once per column block, jointly over all rows of the
/// `rows × B` tile, with the `≤ τ` rule on `W²/U_jj²`; N:M groups are chosen every `M`
/// columns inside the block from the already-updated weights, so `B` must be a multiple of `M`.
/// The sweep itself is `SparseGPTSweep`, which the windows split runs on row shares.
public func sparseGPT(weight: Matrix, hessian: Matrix, sparsity: Double, pattern: SparsityPattern,
                      percdamp: Double = 0.01, blocksize: Int = 128, layer: String) throws -> (weight: Matrix, mask: PruningMask) {
    let cols = weight.cols
    guard hessian.rows == cols, hessian.cols == cols else {
        throw PruningError.shapeMismatch(layer: layer, detail: "Hessian is \(hessian.rows)x\(hessian.cols), weight has \(cols) columns")
    }
    guard blocksize > 0 else {
        throw PruningError.invalidArgument(argument: "blocksize", value: "\(blocksize)", reason: "must be positive")
    }
    if pattern == .unstructured {
        try validateSparsity(sparsity, layer: layer)
        if sparsity == 0 { return (weight, PruningMask(rows: weight.rows, cols: cols)) }
    } else {
        try pattern.validate(columns: cols, layer: layer)
    }
    let factor = try inverseHessianFactor(hessian: hessian, percdamp: percdamp, layer: layer)
    return try SparseGPTSweep.sweep(weight: weight, factor: factor, sparsity: sparsity, pattern: pattern, blocksize: blocksize,
                                    layer: layer) { SparseGPTSweep.threshold(ofAllScores: $0, sparsity: sparsity) }
}
