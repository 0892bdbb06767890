/// A dense row-major float32 matrix: the one numeric container every module shares.
///
/// Storage is a Swift array so copies are value-semantic and cheap until written; pointers to
/// it only exist inside the closures below, so lifetime and aliasing are reasoned about here
/// and nowhere else (docs/style.md, mlx-swift's confinement of unsafe code).
public struct Matrix: Sendable, Equatable {
    public let rows: Int
    public let cols: Int
    public var elements: [Float]

    public init(rows: Int, cols: Int, repeating value: Float = 0) {
        precondition(rows >= 0 && cols >= 0, "Matrix: negative shape \(rows)x\(cols)")
        self.rows = rows
        self.cols = cols
        self.elements = [Float](repeating: value, count: rows * cols)
    }

    public init(rows: Int, cols: Int, elements: [Float]) {
        precondition(elements.count == rows * cols, "Matrix: \(elements.count) elements for \(rows)x\(cols)")
        self.rows = rows
        self.cols = cols
        self.elements = elements
    }

    /// A matrix whose elements are about to be overwritten whole (an sgemm output with β = 0,
    /// which OpenBLAS clears itself before accumulating; a tensor converted from its file's
    /// bytes): skips zero-filling the buffer. The caller must write every element before reading.
    public init(uninitializedRows rows: Int, cols: Int) {
        precondition(rows >= 0 && cols >= 0, "Matrix: negative shape \(rows)x\(cols)")
        self.rows = rows
        self.cols = cols
        self.elements = [Float](unsafeUninitializedCapacity: rows * cols) { _, count in count = rows * cols }
    }

    /// Builds a matrix from nested rows; handy for hand-computed test cases.
    public init(_ nested: [[Float]]) {
        let r = nested.count
        let c = nested.first?.count ?? 0
        precondition(nested.allSatisfy { $0.count == c }, "Matrix: ragged rows")
        self.init(rows: r, cols: c, elements: nested.flatMap { $0 })
    }

    public var count: Int { rows * cols }

    @inlinable
    public subscript(row: Int, col: Int) -> Float {
        get { elements[row * cols + col] }
        set { elements[row * cols + col] = newValue }
    }

    public func row(_ r: Int) -> ArraySlice<Float> {
        elements[(r * cols)..<((r + 1) * cols)]
    }

    public func withUnsafeElements<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try elements.withUnsafeBufferPointer(body)
    }

    public mutating func withUnsafeMutableElements<R>(
        _ body: (inout UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        try elements.withUnsafeMutableBufferPointer(body)
    }

    /// Rows `[start, start+count)` as a new matrix (a copy).
    public func rows(_ range: Range<Int>) -> Matrix {
        Matrix(rows: range.count, cols: cols, elements: Array(elements[(range.lowerBound * cols)..<(range.upperBound * cols)]))
    }

    public func transposed() -> Matrix {
        var t = Matrix(rows: cols, cols: rows)
        for r in 0..<rows {
            for c in 0..<cols { t.elements[c * rows + r] = elements[r * cols + c] }
        }
        return t
    }
}
