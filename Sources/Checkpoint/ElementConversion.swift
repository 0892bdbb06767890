import Tensor

/// Bulk conversions between stored half/single floats and `Float`, as loops over buffers so a
/// release build runs them at memory speed (docs/platform.md: F16C via `-target-cpu haswell`, bf16
/// as a 16-bit shift). Elements are read and written little-endian and unaligned: safetensors
/// data need not be 4-byte aligned, and every platform owlprune targets is little-endian.
/// The per-element rules are Tensor's `HalfPrecision`, so a round trip is bit-exact.
enum ElementConversion {
    static func widenF32(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableBufferPointer<Float>) {
        precondition(src.count == dst.count * 4)
        for i in 0..<dst.count {
            dst[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
        }
    }

    static func widenF16(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableBufferPointer<Float>) {
        precondition(src.count == dst.count * 2)
        for i in 0..<dst.count {
            dst[i] = HalfPrecision.f16ToFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        }
    }

    static func widenBF16(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableBufferPointer<Float>) {
        precondition(src.count == dst.count * 2)
        for i in 0..<dst.count {
            dst[i] = HalfPrecision.bf16ToFloat(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        }
    }

    static func narrowToF16(_ src: UnsafeBufferPointer<Float>, into dst: UnsafeMutableRawBufferPointer) {
        precondition(dst.count == src.count * 2)
        for i in 0..<src.count {
            dst.storeBytes(of: HalfPrecision.floatToF16(src[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
        }
    }

    static func narrowToBF16(_ src: UnsafeBufferPointer<Float>, into dst: UnsafeMutableRawBufferPointer) {
        precondition(dst.count == src.count * 2)
        for i in 0..<src.count {
            dst.storeBytes(of: HalfPrecision.floatToBF16(src[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
        }
    }

    static func narrowToF32(_ src: UnsafeBufferPointer<Float>, into dst: UnsafeMutableRawBufferPointer) {
        precondition(dst.count == src.count * 4)
        for i in 0..<src.count {
            dst.storeBytes(of: src[i].bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
        }
    }
}
