/// `floor(n · s)` as one float64 multiply and a truncation, the `int(n * s)` every reference
/// uses (docs/algorithms.md Conventions): `100 × 0.29 = 28.999999999999996 → 28`, not 29.
@inlinable
public func prunedCount(of n: Int, sparsity: Double) -> Int {
    Int((Double(n) * sparsity).rounded(.towardZero))
}
