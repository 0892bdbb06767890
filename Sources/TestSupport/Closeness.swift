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

/// Deterministic test data from the project's SplitMix64, mapped to [-1, 1).
public struct TestRandom {
    var generator: SplitMix64
    public init(seed: UInt64) { generator = SplitMix64(seed: seed) }
    public mutating func float() -> Float { generator.unitFloat() }
    public mutating func matrix(rows: Int, cols: Int, scale: Float = 1) -> Matrix {
        Matrix(rows: rows, cols: cols, elements: (0..<(rows * cols)).map { _ in float() * scale })
    }
}
