import Tensor

/// Weights must be finite: a NaN or an infinity in a checkpoint would flow through every metric
/// and solver and come out as a silently wrong pruned model (issue 10 item 1). The check runs
/// where stored tensors become float32, once per element at memory speed (an exponent-bits test,
/// no branches on the common path).
enum FiniteWeights {
    /// Index of the first NaN or infinity, if any.
    static func firstNonFinite(_ values: UnsafeBufferPointer<Float>) -> Int? {
        var any: UInt32 = 0
        for v in values {
            let exponent = v.bitPattern & 0x7F80_0000
            any |= exponent == 0x7F80_0000 ? 1 : 0
        }
        guard any != 0 else { return nil }
        return values.firstIndex { !$0.isFinite }
    }

    /// Throws `nonFiniteWeight` naming the file and tensor when `matrix` holds a NaN or infinity.
    static func check(_ matrix: Matrix, file: String, tensor: String) throws {
        if let i = matrix.withUnsafeElements({ firstNonFinite($0) }) {
            let value = matrix.withUnsafeElements { $0[i] }
            throw CheckpointError.nonFiniteWeight(file: file, tensor: tensor, index: i, value: value)
        }
    }
}
