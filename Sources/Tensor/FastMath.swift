/// Vectorised exp for softmax, SiLU and log-sum-exp. The model spends ~10^5 exponentials per token
/// (attention rows, SwiGLU, the 49k-way vocabulary softmax); libm's scalar expf would cost a
/// sizeable fraction of the matrix products. Cephes-style: x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split
/// in two parts for an exact reduction), exp(r) by a degree-6 polynomial, 2^n by exponent bits.
/// Relative error ≤ 2 ulp over the float range, measured against Double exp in TensorTests.
public enum FastMath {
    @inline(__always)
    public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let clamped = x.clamped(lowerBound: SIMD8(repeating: -87.33654), upperBound: SIMD8(repeating: 88.72283))
        let log2e: Float = 1.44269504088896341
        var n = (clamped * log2e).rounded(.toNearestOrEven)
        let r = clamped - n * 0.693359375 + n * 2.12194440e-4
        var p = SIMD8<Float>(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let r2 = r * r
        let e = p * r2 + r + 1
        n = n.clamped(lowerBound: SIMD8(repeating: -126), upperBound: SIMD8(repeating: 127))
        let bits = (SIMD8<Int32>(n) &+ 127) &<< 23
        let scale = unsafeBitCast(bits, to: SIMD8<Float>.self)
        // Inputs below the clamp underflow to zero, as expf does.
        let result = e * scale
        return result.replacing(with: 0, where: x .< -87.33654)
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
            base.storeBytes(of: e, toByteOffset: i * 4, as: SIMD8<Float>.self)
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
