/// SplitMix64 exactly as docs/algorithms.md §2.2 fixes it (64-bit wrapping arithmetic). It draws the
/// calibration windows, so a run can be reproduced bit for bit in any language from this
/// dozen-line definition; benchmarks and tests use it for their inputs too.
///
/// Python equivalent:
/// ```
/// def next(s): s = (s + 0x9E3779B97F4A7C15) % 2**64; z = s
///     z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % 2**64
///     z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % 2**64
///     return s, z ^ (z >> 31)
/// ```
public struct SplitMix64: Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A float in [-1, 1) from the top 24 bits (test and benchmark data only).
    public mutating func unitFloat() -> Float { Float(next() >> 40) / Float(1 << 24) * 2 - 1 }
}
