/// The backward pass of RoPE: the rotation R of each (i, i + d/2) pair is orthogonal, so the
/// gradient of its input is Rᵀ·dy, the rotation by the opposite angle.
extension RoPETable {
    /// Applies Rᵀ to every head of `x` in place. With J negating the second half of a head,
    /// Rᵀ = J·R·J (for a pair (a, b): J·R·J maps it to (a·c + b·s, b·c − a·s)); negation is exact,
    /// so this is the transpose in the same float32 products and sums as `apply` uses, read from
    /// the same cos/sin tables, whatever RoPE variant built them.
    public func applyTransposed(to x: inout Matrix, heads: Int) {
        x.negateSecondHalfOfEveryHead(headDim: headDim)
        apply(to: &x, heads: heads)
        x.negateSecondHalfOfEveryHead(headDim: headDim)
    }
}
