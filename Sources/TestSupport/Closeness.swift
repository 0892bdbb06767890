import Tensor

/// Largest absolute difference between two equally shaped float arrays; tests print it on failure
/// (llm.c's check_tensor habit) so a broken kernel shows how far off it is, not just that it is.
public func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "maxAbsDifference: \(a.count) vs \(b.count) elements")
    var m: Float = 0
    for i in 0..<a.count { m = max(m, abs(a[i] - b[i])) }
    return m
}

public func maxAbsDifference(_ a: Matrix, _ b: Matrix) -> Float {
    precondition(a.rows == b.rows && a.cols == b.cols, "maxAbsDifference: \(a.rows)x\(a.cols) vs \(b.rows)x\(b.cols)")
    return maxAbsDifference(a.elements, b.elements)
}

/// A small deterministic generator for test data (SplitMix64 mapped to [-1, 1)).
public struct TestRandom {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    public mutating func float() -> Float { Float(next() >> 40) / Float(1 << 24) * 2 - 1 }
    public mutating func matrix(rows: Int, cols: Int, scale: Float = 1) -> Matrix {
        Matrix(rows: rows, cols: cols, elements: (0..<(rows * cols)).map { _ in float() * scale })
    }
}
