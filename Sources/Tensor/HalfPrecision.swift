/// bf16 and IEEE half conversions. bf16 is the top half of a float32: widening is exact, and
/// narrowing rounds to nearest even (NaNs stay quiet NaNs) — the rule PyTorch uses, so a
/// round trip through owlprune leaves a bf16 checkpoint bit-identical.
public enum HalfPrecision {
    @inlinable
    public static func bf16ToFloat(_ b: UInt16) -> Float {
        Float(bitPattern: UInt32(b) << 16)
    }

    @inlinable
    public static func floatToBF16(_ f: Float) -> UInt16 {
        let u = f.bitPattern
        if f.isNaN { return UInt16(truncatingIfNeeded: (u >> 16) | 0x0040) }
        let rounded = u &+ 0x7FFF &+ ((u >> 16) & 1)
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    @inlinable
    public static func f16ToFloat(_ h: UInt16) -> Float {
        Float(Float16(bitPattern: h))
    }

    @inlinable
    public static func floatToF16(_ f: Float) -> UInt16 {
        Float16(f).bitPattern
    }
}
