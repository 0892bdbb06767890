import Testing
import Tensor
@testable import Pruning

/// The packed form masks travel in between ranks of the windows split.
@Suite struct PackedMaskTests {
    func random(rows: Int, cols: Int, seed: UInt64) -> (Matrix, PruningMask) {
        var state = seed
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        let w = Matrix(rows: rows, cols: cols, elements: (0..<(rows * cols)).map { _ in Float(Int(next() % 2001) - 1000) / 37 })
        let mask = PruningMask(rows: rows, cols: cols, pruned: (0..<(rows * cols)).map { _ in next() % 10 < 7 })
        return (w, mask)
    }

    /// Sizes with and without a partial last byte, and one with every byte's bits set.
    @Test(arguments: [(1, 1), (3, 5), (8, 8), (7, 13), (33, 65)])
    func packingRoundTripsAndZeroingEqualsApply(shape: (Int, Int)) {
        let (w, mask) = random(rows: shape.0, cols: shape.1, seed: UInt64(shape.0 * 131 + shape.1))
        let bits = mask.packedBits()
        #expect(bits.count == (w.count + 7) / 8)
        for i in 0..<w.count { #expect((bits[i >> 3] >> UInt8(i & 7)) & 1 == (mask.pruned[i] ? 1 : 0), "position \(i)") }
        var zeroed = w
        PruningMask.zero(&zeroed, packedBits: bits)
        #expect(zeroed.elements.map(\.bitPattern) == mask.apply(to: w).elements.map(\.bitPattern))
        // The journal's encoding: the +0 positions of the pruned weight rebuild it from the dense one.
        let zeros = PruningMask.packedZeros(of: mask.apply(to: w))
        var rebuilt = w
        PruningMask.zero(&rebuilt, packedBits: zeros)
        #expect(rebuilt.elements.map(\.bitPattern) == mask.apply(to: w).elements.map(\.bitPattern))
        let all = PruningMask(rows: shape.0, cols: shape.1, pruned: Array(repeating: true, count: w.count))
        var cleared = w
        PruningMask.zero(&cleared, packedBits: all.packedBits())
        #expect(cleared.elements.allSatisfy { $0.bitPattern == 0 })
    }

    @Test func zeroingIsRecognisedOnlyWhenExact() {
        let (w, mask) = random(rows: 9, cols: 11, seed: 7)
        let pruned = mask.apply(to: w)
        #expect(mask.isZeroing(of: w, giving: pruned))
        let kept = mask.pruned.firstIndex(of: false)!, cut = mask.pruned.firstIndex(of: true)!
        var updated = pruned
        updated.elements[kept] = updated.elements[kept].nextUp  // a weight update (SparseGPT, ADMM)
        #expect(!mask.isZeroing(of: w, giving: updated))
        var negativeZero = pruned
        negativeZero.elements[cut] = -0.0  // equal as a float, not as bits
        #expect(!mask.isZeroing(of: w, giving: negativeZero))
        #expect(!mask.isZeroing(of: w, giving: Matrix(rows: 11, cols: 9)))
    }
}
