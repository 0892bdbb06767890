/// Vectorised exp for softmax, SiLU and log-sum-exp. The model spends ~10^5 exponentials per token
/// (attention rows, SwiGLU, the 49k-way vocabulary softmax); libm's scalar expf would cost a
/// sizeable fraction of the matrix products. Cephes-style: x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split
/// in two parts for an exact reduction), exp(r) by a degree-6 polynomial, 2^n by exponent bits.
/// Relative error ≤ 2 ulp over the float range, measured against Double exp in TensorTests.
public enum FastMath {
    @inline(__always)
    public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        // Upper clamp 88: keeps 2^n a normal float (n ≤ 127); every caller feeds non-positive
        // arguments or ones whose exp only divides something, where e^88 already acts as ∞.
        let clamped = x.clamped(lowerBound: SIMD8(repeating: -87.33654), upperBound: SIMD8(repeating: 88))
        // Adding 1.5·2^23 rounds to the nearest integer (ties to even) and leaves that integer in
        // the low mantissa bits, so n needs no float→int conversion (Swift's generic SIMD
        // conversion does not vectorise).
        let magic: Float = 12_582_912
        let t = clamped * 1.44269504088896341 + magic
        let n = t - magic
        let r = clamped - n * 0.693359375 + n * 2.12194440e-4
        var p = SIMD8<Float>(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let e = p * (r * r) + r + 1
        let integer = unsafeBitCast(t, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let scale = unsafeBitCast((integer &+ 127) &<< 23, to: SIMD8<Float>.self)
        // Inputs below the clamp underflow to zero, as expf does.
        return (e * scale).replacing(with: 0, where: x .< -87.33654)
    }

    @inline(__always)
    public static func exp(_ x: Float) -> Float {
        exp(SIMD8<Float>(repeating: x))[0]
    }

    /// In place `v[i] = exp(v[i] - shift)`; returns the sum of the results in float32, summed in a
    /// fixed order (8 lanes, then lanes in index order) so results never depend on call context.
    public static func expSubtractInPlace(_ v: UnsafeMutableBufferPointer<Float>, shift: Float) -> Float {
        let n = v.count
        var i = 0
        var acc = SIMD8<Float>(repeating: 0)
        let base = UnsafeMutableRawPointer(v.baseAddress!)
        while i + 8 <= n {
            let x = base.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let e = exp(x - shift)
            for k in 0..<8 { v[i + k] = e[k] }
            acc += e
            i += 8
        }
        var sum = acc.sum()
        while i < n {
            let e = exp(v[i] - shift)
            v[i] = e
            sum += e
            i += 1
        }
        return sum
    }

    /// Maximum of a buffer (NaNs propagate as in a plain `max` loop).
    public static func maximum(_ v: UnsafeBufferPointer<Float>) -> Float {
        var m = -Float.infinity
        for x in v where x > m { m = x }
        return m
    }
}
