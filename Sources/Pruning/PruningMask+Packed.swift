import Tensor

/// The mask in the form it travels between ranks: 1 bit per position, position `i` in bit
/// `i & 7` of byte `i >> 3`, 32× smaller than the pruned float32 weight (docs/design.md §3,
/// "Sharing pruned linears").
///
/// These loops run once per shared linear per block on every rank of the windows split, over
/// every weight of the block (3.5 M positions a block for SmolLM2, 200 M for llama-7b), so they
/// work on raw buffers: the `[Bool]`-per-position versions cost ~25 ms a block, most of the
/// communication time the R = 2 trace charged to sharing masks.
extension PruningMask {
    public func packedBits() -> [UInt8] {
        pruned.withUnsafeBufferPointer { flags in Self.packed(count: flags.count) { flags[$0] } }
    }

    /// The positions of `weight` holding +0 (bit pattern 0), packed as `packedBits()` packs a mask.
    /// For a weight that `isZeroing` a dense one this is a mask that rebuilds it from the dense
    /// weight exactly: positions already +0 before pruning stay +0 either way (the resume journal's
    /// encoding, docs/design.md §3 "Resume").
    public static func packedZeros(of weight: Matrix) -> [UInt8] {
        weight.withUnsafeElements { w in packed(count: w.count) { w[$0].bitPattern == 0 } }
    }

    /// Bit `i` set where `isSet(i)`; always inlined, so the predicate's loads stay in the loop.
    @inline(__always)
    private static func packed(count: Int, _ isSet: (Int) -> Bool) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: (count + 7) / 8)
        out.withUnsafeMutableBufferPointer { bytes in
            let whole = count / 8
            for b in 0..<whole {
                var v: UInt8 = 0
                for k in 0..<8 { v |= UInt8(isSet(b &* 8 &+ k) ? 1 : 0) &<< UInt8(k) }
                bytes[b] = v
            }
            for i in (whole * 8)..<count where isSet(i) { bytes[whole] |= 1 &<< UInt8(i & 7) }
        }
        return out
    }

    /// Sets every position whose bit is set in `bits` (from `packedBits()`) to exactly 0.
    public static func zero(_ weight: inout Matrix, packedBits bits: [UInt8]) {
        precondition(bits.count == (weight.count + 7) / 8, "PruningMask.zero: \(bits.count) bytes for \(weight.count) weights")
        let count = weight.count
        bits.withUnsafeBufferPointer { bytes in
            weight.withUnsafeMutableElements { w in
                // Branch-free: a set bit turns the keep-mask 0xFFFFFFFF into 0, giving +0.
                func keep(_ byte: UInt8, _ k: Int) -> UInt32 { UInt32((byte &>> UInt8(k)) & 1) &- 1 }
                let whole = count / 8
                for b in 0..<whole where bytes[b] != 0 {
                    let byte = bytes[b], base = b &* 8
                    for k in 0..<8 { w[base &+ k] = Float(bitPattern: w[base &+ k].bitPattern & keep(byte, k)) }
                }
                for i in (whole * 8)..<count { w[i] = Float(bitPattern: w[i].bitPattern & keep(bytes[whole], i & 7)) }
            }
        }
    }

    /// Whether `result` is exactly `dense` with the masked positions set to +0 and every other
    /// bit pattern unchanged: then the mask alone carries the pruned weight. The check is on bits,
    /// not assumed per method, so a method that also updates weights never travels as a mask.
    public func isZeroing(of dense: Matrix, giving result: Matrix) -> Bool {
        guard dense.rows == rows, dense.cols == cols, result.rows == rows, result.cols == cols else { return false }
        return pruned.withUnsafeBufferPointer { flags in
            dense.withUnsafeElements { d in
                result.withUnsafeElements { r in
                    // Differences OR-ed over chunks, so the inner loop has no exit and vectorises.
                    var start = 0
                    while start < flags.count {
                        let end = min(start + 4096, flags.count)
                        var difference: UInt32 = 0
                        for i in start..<end { difference |= r[i].bitPattern ^ (flags[i] ? 0 : d[i].bitPattern) }
                        if difference != 0 { return false }
                        start = end
                    }
                    return true
                }
            }
        }
    }
}
