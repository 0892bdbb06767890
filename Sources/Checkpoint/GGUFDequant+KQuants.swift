/// The k-quants: super-blocks of 256 elements (`QK_K`) split into sub-blocks that each have a
/// quantized scale (and, for Q2_K, Q4_K and Q5_K, a quantized minimum) relative to the f16
/// super-block scale `d` (and `dmin`). Layouts are ggml's `block_q2_K` … `block_q6_K`
/// (`ggml-common.h`); element order and arithmetic follow `gguf.quants` (`Q2_K.dequantize_blocks`
/// …), which reproduce ggml's `dequantize_row_q*_K`. Each sub-block scale is formed first as one
/// float32 product (`dl = d·sc`), then each value as `dl·q` (and `− ml`), as numpy does, so the
/// results are bit-identical to `gguf.quants.dequantize`.
///
/// | type | bytes | layout, in file order                                  | value              |
/// |------|-------|--------------------------------------------------------|--------------------|
/// | Q2_K | 84    | scales[16] (lo 4 bits scale, hi 4 min), qs[64], d, dmin | d·sc·q − dmin·m   |
/// | Q3_K | 110   | hmask[32], qs[64], scales[12] (16 × 6 bits), d           | d·(sc−32)·q       |
/// | Q4_K | 144   | d, dmin, scales[12] (8 × 6-bit scale and min), qs[128]  | d·sc·q − dmin·m    |
/// | Q5_K | 176   | d, dmin, scales[12], qh[32], qs[128]                    | d·sc·q − dmin·m    |
/// | Q6_K | 210   | ql[128], qh[64], scales[16] (int8), d                   | d·sc·(q − 32)      |
extension GGUFDequant {
    /// Q2_K: 16 sub-blocks of 16. Element e takes bits 2s…2s+1 of `qs[32·(e/128) + e%32]`,
    /// s = (e%128)/32; its sub-block is e/16.
    static func q2_K(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableBufferPointer<Float>) {
        for b in 0..<(dst.count / 256) {
            let base = b * 84
            let d = half(src, base + 80), dmin = half(src, base + 82)
            let out = b * 256
            for g in 0..<16 {
                let sc = src[base + g]
                let dl = d * Float(sc & 0x0F), ml = dmin * Float(sc >> 4)
                for k in 0..<16 {
                    let e = g * 16 + k
                    let shift = UInt8(2 * ((e % 128) / 32))
                    let q = (src[base + 16 + 32 * (e / 128) + e % 32] >> shift) & 3
                    let v = dl * Float(q)
                    dst[out + e] = v - ml
                }
            }
        }
    }

    /// Q3_K: 16 sub-blocks of 16 with 6-bit signed scales (low 4 bits in bytes 0…7, two nibbles
    /// each; high 2 bits in bytes 8…11, four pairs each). Element e: 2 low bits as in Q2_K, and 4
    /// is subtracted when bit e/32 of `hmask[e%32]` is clear.
    static func q3_K(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableBufferPointer<Float>) {
        for b in 0..<(dst.count / 256) {
            let base = b * 110
            let d = half(src, base + 108)
            let scales = base + 96
            let out = b * 256
            for g in 0..<16 {
                let low = (src[scales + g % 8] >> UInt8(4 * (g / 8))) & 0x0F
                let high = (src[scales + 8 + g % 4] >> UInt8(2 * (g / 4))) & 0x03
                let dl = d * Float(Int32(low | high << 4) - 32)
                for k in 0..<16 {
                    let e = g * 16 + k
                    let ql = (src[base + 32 + 32 * (e / 128) + e % 32] >> UInt8(2 * ((e % 128) / 32))) & 3
                    let hbit = (src[base + e % 32] >> UInt8(e / 32)) & 1
                    let q = Int32(ql) - (hbit == 0 ? 4 : 0)
                    dst[out + e] = dl * Float(q)
                }
            }
        }
    }

    /// The 6-bit scale and minimum of sub-block g (0…7) of a Q4_K/Q5_K super-block, whose 12
    /// scale bytes start at `at` (ggml `get_scale_min_k4`).
    @inline(__always)
    static func scaleMinK4(_ src: UnsafeRawBufferPointer, _ at: Int, _ g: Int) -> (UInt8, UInt8) {
        if g < 4 { return (src[at + g] & 0x3F, src[at + g + 4] & 0x3F) }
        let packed = src[at + g + 4]
        return ((packed & 0x0F) | ((src[at + g - 4] >> 2) & 0x30), (packed >> 4) | ((src[at + g] >> 2) & 0x30))
    }

    /// Q4_K: 8 sub-blocks of 32; sub-block g reads the low (g even) or high (g odd) nibbles of
    /// `qs[32·(g/2) …]`.
    static func q4_K(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableBufferPointer<Float>) {
        for b in 0..<(dst.count / 256) {
            let base = b * 144
            let d = half(src, base), dmin = half(src, base + 2)
            let out = b * 256
            for g in 0..<8 {
                let (sc, m) = scaleMinK4(src, base + 4, g)
                let dl = d * Float(sc), ml = dmin * Float(m)
                let shift = UInt8(4 * (g % 2))
                for l in 0..<32 {
                    let q = (src[base + 16 + 32 * (g / 2) + l] >> shift) & 0x0F
                    let v = dl * Float(q)
                    dst[out + 32 * g + l] = v - ml
                }
            }
        }
    }

    /// Q5_K: Q4_K's nibbles plus a fifth bit, bit g of `qh[l]` for element l of sub-block g.
    static func q5_K(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableBufferPointer<Float>) {
        for b in 0..<(dst.count / 256) {
            let base = b * 176
            let d = half(src, base), dmin = half(src, base + 2)
            let out = b * 256
            for g in 0..<8 {
                let (sc, m) = scaleMinK4(src, base + 4, g)
                let dl = d * Float(sc), ml = dmin * Float(m)
                let shift = UInt8(4 * (g % 2))
                for l in 0..<32 {
                    let low = (src[base + 48 + 32 * (g / 2) + l] >> shift) & 0x0F
                    let high = (src[base + 16 + l] >> UInt8(g)) & 1
                    let v = dl * Float(low | high << 4)
                    dst[out + 32 * g + l] = v - ml
                }
            }
        }
    }

    /// Q6_K: 16 sub-blocks of 16 with int8 scales. In each half h of 128 elements, element
    /// w = 32s + l (s < 4, l < 32) has low nibble from `ql[64h + 32(s%2) + l]` (high nibble when
    /// s ≥ 2) and two high bits 2s…2s+1 of `qh[32h + l]`.
    static func q6_K(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableBufferPointer<Float>) {
        for b in 0..<(dst.count / 256) {
            let base = b * 210
            let d = half(src, base + 208)
            let out = b * 256
            for g in 0..<16 {
                let dl = d * Float(Int8(bitPattern: src[base + 192 + g]))
                for k in 0..<16 {
                    let e = g * 16 + k
                    let h = e / 128, w = e % 128, s = w / 32, l = w % 32
                    let low = (src[base + 64 * h + 32 * (s % 2) + l] >> UInt8(4 * (s / 2))) & 0x0F
                    let high = (src[base + 128 + 32 * h + l] >> UInt8(2 * s)) & 0x03
                    dst[out + e] = dl * Float(Int32(low | high << 4) - 32)
                }
            }
        }
    }
}
