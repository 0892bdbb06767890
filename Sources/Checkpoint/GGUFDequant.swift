import Tensor

/// Dequantization of the ggml types owlprune imports, each matching ggml `ggml-quants.c`:
///
/// | type | block | bytes | layout                              | value                       |
/// |------|-------|-------|-------------------------------------|-----------------------------|
/// | F32  | 1     | 4     | float32                             | x                           |
/// | F16  | 1     | 2     | IEEE half                           | x                           |
/// | BF16 | 1     | 2     | top half of a float32               | x                           |
/// | Q8_0 | 32    | 34    | f16 d, int8 q[32]                   | q[j]·d                      |
/// | Q4_0 | 32    | 18    | f16 d, uint8 qs[16]                 | (nibble − 8)·d              |
/// | Q4_1 | 32    | 20    | f16 d, f16 m, uint8 qs[16]          | nibble·d + m                |
/// | Q5_0 | 32    | 22    | f16 d, uint32 qh, uint8 qs[16]      | (q5 − 16)·d                 |
/// | Q5_1 | 32    | 24    | f16 d, f16 m, uint32 qh, qs[16]     | q5·d + m                    |
/// | Q2_K … Q6_K | 256 | 84 … 210 | super-blocks, see `GGUFDequant+KQuants.swift`          |
///
/// In Q4_0, Q4_1, Q5_0 and Q5_1, byte `qs[j]` holds element j in its low nibble and element
/// j+16 in its high nibble; in Q5_x bit j of `qh` is the fifth bit of element j
/// (`dequantize_row_q5_0`). Every value is computed with the float32 operations, in the order,
/// that llama.cpp's `gguf-py` `gguf.quants.dequantize` uses (a product, then a separate sum), so
/// the results are bit-identical to it (`Tests/Fixtures/gguf-quants`). The loops run over raw
/// buffers so a release build decodes a 500 MB file at memory speed.
public enum GGUFDequant {
    public static func supports(_ type: GGMLType) -> Bool {
        switch type {
        case .f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K: true
        default: false
        }
    }

    /// Decodes `src` (whole blocks of `type`) into `dst`, whose count is the element count.
    public static func dequantize(_ src: UnsafeRawBufferPointer, type: GGMLType, into dst: UnsafeMutableBufferPointer<Float>) {
        precondition(supports(type), "GGUFDequant: \(type.name) is not supported")
        precondition(dst.count % type.blockSize == 0 && src.count == dst.count / type.blockSize * type.blockBytes,
                     "GGUFDequant: \(src.count) bytes for \(dst.count) \(type.name) elements")
        switch type {
        case .f32: ElementConversion.widenF32(src, into: dst)
        case .f16: ElementConversion.widenF16(src, into: dst)
        case .bf16: ElementConversion.widenBF16(src, into: dst)
        case .q8_0: q8_0(src, into: dst)
        case .q4_0: q4_0(src, into: dst)
        case .q4_1: q4_1(src, into: dst)
        case .q5_0: q5_0(src, into: dst)
        case .q5_1: q5_1(src, into: dst)
        case .q2_K: q2_K(src, into: dst)
        case .q3_K: q3_K(src, into: dst)
        case .q4_K: q4_K(src, into: dst)
        case .q5_K: q5_K(src, into: dst)
        case .q6_K: q6_K(src, into: dst)
        default: preconditionFailure("checked above")
        }
    }

    @inline(__always)
    static func half(_ src: UnsafeRawBufferPointer, _ offset: Int) -> Float {
        HalfPrecision.f16ToFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    private static func q8_0(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableBufferPointer<Float>) {
        for b in 0..<(dst.count / 32) {
            let base = b * 34
            let d = half(src, base)
            let out = b * 32
            for j in 0..<32 {
                dst[out + j] = Float(Int8(bitPattern: src[base + 2 + j])) * d
            }
        }
    }

    /// Q4_0: value = (q − 8)·d, the subtraction done in integers first as ggml does, so the
    /// result is the same float ggml computes.
    private static func q4_0(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableBufferPointer<Float>) {
        for b in 0..<(dst.count / 32) {
            let base = b * 18
            let d = half(src, base)
            let out = b * 32
            for j in 0..<16 {
                let byte = src[base + 2 + j]
                dst[out + j] = Float(Int32(byte & 0x0F) - 8) * d
                dst[out + j + 16] = Float(Int32(byte >> 4) - 8) * d
            }
        }
    }

    /// Q4_1: value = q·d + m.
    private static func q4_1(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableBufferPointer<Float>) {
        for b in 0..<(dst.count / 32) {
            let base = b * 20
            let d = half(src, base)
            let m = half(src, base + 2)
            let out = b * 32
            for j in 0..<16 {
                let byte = src[base + 4 + j]
                dst[out + j] = Float(byte & 0x0F) * d + m
                dst[out + j + 16] = Float(byte >> 4) * d + m
            }
        }
    }

    /// Q5_0: value = (q − 16)·d with q = nibble | (bit j of qh) << 4.
    private static func q5_0(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableBufferPointer<Float>) {
        for b in 0..<(dst.count / 32) {
            let base = b * 22
            let d = half(src, base)
            let qh = UInt32(littleEndian: src.loadUnaligned(fromByteOffset: base + 2, as: UInt32.self))
            let out = b * 32
            for j in 0..<16 {
                let byte = src[base + 6 + j]
                let lo = Int32(byte & 0x0F) | Int32((qh >> UInt32(j)) & 1) << 4
                let hi = Int32(byte >> 4) | Int32((qh >> UInt32(j + 16)) & 1) << 4
                dst[out + j] = d * Float(lo - 16)
                dst[out + j + 16] = d * Float(hi - 16)
            }
        }
    }

    /// Q5_1: value = q·d + m.
    private static func q5_1(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableBufferPointer<Float>) {
        for b in 0..<(dst.count / 32) {
            let base = b * 24
            let d = half(src, base)
            let m = half(src, base + 2)
            let qh = UInt32(littleEndian: src.loadUnaligned(fromByteOffset: base + 4, as: UInt32.self))
            let out = b * 32
            for j in 0..<16 {
                let byte = src[base + 8 + j]
                let lo = UInt32(byte & 0x0F) | ((qh >> UInt32(j)) & 1) << 4
                let hi = UInt32(byte >> 4) | ((qh >> UInt32(j + 16)) & 1) << 4
                let a = d * Float(lo), c = d * Float(hi)
                dst[out + j] = a + m
                dst[out + j + 16] = c + m
            }
        }
    }
}
