import Tensor

/// The factor SparseGPT uses in place of `H⁻¹` (docs/algorithms.md §6.1; IST-DASLab/sparsegpt
/// `sparsegpt.py: SparseGPT.fasterprune`): `U` upper triangular with `H_damped⁻¹ = Uᵀ U`.
public struct InverseHessianFactor: Sendable {
    /// `U`, rounded to float32 after the float64 factorizations.
    public var upper: Matrix
    /// Columns with `H_jj == 0` (their weights are zeroed unconditionally).
    public var dead: [Bool]
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

/// SparseGPT: blocked OBS with lazy batch updates (§6.2). Returns the updated weight (pruned
/// entries exactly 0, kept entries carrying the OBS compensation) and the mask.
///
/// Unstructured masks are chosen once per column block, jointly over all rows of the
/// `rows × B` tile, with the `≤ τ` rule on `W²/U_jj²`; N:M groups are chosen every `M`
/// columns inside the block from the already-updated weights, so `B` must be a multiple of `M`.
public func sparseGPT(weight: Matrix, hessian: Matrix, sparsity: Double, pattern: SparsityPattern,
                      percdamp: Double = 0.01, blocksize: Int = 128, layer: String) throws -> (weight: Matrix, mask: PruningMask) {
    let rows = weight.rows, cols = weight.cols
    guard hessian.rows == cols, hessian.cols == cols else {
        throw PruningError.shapeMismatch(layer: layer, detail: "Hessian is \(hessian.rows)x\(hessian.cols), weight has \(cols) columns")
    }
    guard blocksize > 0 else {
        throw PruningError.invalidArgument(argument: "blocksize", value: "\(blocksize)", reason: "must be positive")
    }
    var groupSize = 0, groupPruned = 0
    switch pattern {
    case let .nOfM(n, m):
        try pattern.validate(columns: cols, layer: layer)
        guard blocksize % m == 0 else {
            throw PruningError.invalidPattern(layer: layer, n: n, m: m, detail: "blocksize \(blocksize) is not a multiple of \(m)")
        }
        (groupPruned, groupSize) = (n, m)
    case .unstructured:
        try validateSparsity(sparsity, layer: layer)
        if sparsity == 0 { return (weight, PruningMask(rows: rows, cols: cols)) }
    }

    let factor = try inverseHessianFactor(hessian: hessian, percdamp: percdamp, layer: layer)
    let u = factor.upper
    var w = weight
    for j in 0..<cols where factor.dead[j] {
        for r in 0..<rows { w[r, j] = 0 }
    }
    var mask = PruningMask(rows: rows, cols: cols)

    for i1 in stride(from: 0, to: cols, by: blocksize) {
        let i2 = min(i1 + blocksize, cols)
        let count = i2 - i1
        var w1 = w.submatrix(rows: 0..<rows, cols: i1..<i2)
        let u1 = u.submatrix(rows: i1..<i2, cols: i1..<i2)
        let diagonal = (0..<count).map { u1[$0, $0] }
        var q1 = Matrix(rows: rows, cols: count)
        var e1 = Matrix(rows: rows, cols: count)
        var mask1 = PruningMask(rows: rows, cols: count)

        if groupSize == 0 {
            // r_ij = W1_ij² / (U1_jj)², one threshold for the whole tile.
            var scores = [Float](repeating: 0, count: rows * count)
            for r in 0..<rows {
                for c in 0..<count {
                    let x = w1[r, c]
                    let d = diagonal[c]
                    scores[r * count + c] = (x * x) / (d * d)
                }
            }
            mask1.pruned = Selection.atOrBelowThreshold(scores, count: prunedCount(of: scores.count, sparsity: sparsity))
        }

        for c in 0..<count {
            if groupSize > 0 && c % groupSize == 0 {
                for r in 0..<rows {
                    let scores = (0..<groupSize).map { t -> Float in
                        let x = w1[r, c + t]
                        let d = diagonal[c + t]
                        return (x * x) / (d * d)
                    }
                    for t in Selection.ascendingOrder(scores[...]).prefix(groupPruned) { mask1[r, c + t] = true }
                }
            }
            let column = w1.column(c)
            let d = diagonal[c]
            var q = column
            var e = [Float](repeating: 0, count: rows)
            for r in 0..<rows where mask1[r, c] {
                q[r] = 0
                e[r] = column[r] / d
            }
            q1.setColumn(c, to: q)
            e1.setColumn(c, to: e)
            let uRow = Array(u1.row(c).dropFirst(c))
            w1.subtractOuterProduct(e, uRow, startingAtColumn: c)
        }

        w.replaceColumns(startingAt: i1, with: q1)
        if i2 < cols {
            w.subtractProduct(e1, u.submatrix(rows: i1..<i2, cols: i2..<cols), startingAtColumn: i2)
        }
        for r in 0..<rows {
            for c in 0..<count where mask1[r, c] { mask[r, i1 + c] = true }
        }
    }
    return (w, mask)
}
