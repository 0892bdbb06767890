import Foundation

/// Per-token negative log-likelihood from logits, in float32 with max subtraction
/// (docs/algorithms.md §11.1 step 5).
public enum CrossEntropy {
    /// `-log softmax(logits[t])[target[t]]` for every row t; the logits buffer is consumed.
    public static func negativeLogLikelihoods(logits: inout Matrix, targets: [Int]) -> [Float] {
        precondition(targets.count == logits.rows, "crossEntropy: \(targets.count) targets for \(logits.rows) rows")
        let v = logits.cols
        var out = [Float](repeating: 0, count: targets.count)
        logits.elements.withUnsafeMutableBufferPointer { buf in
            for t in 0..<targets.count {
                let row = UnsafeMutableBufferPointer(start: buf.baseAddress! + t * v, count: v)
                let m = FastMath.maximum(UnsafeBufferPointer(row))
                let target = row[targets[t]]
                let sum = FastMath.expSubtractInPlace(row, shift: m)
                out[t] = (m + Foundation.log(sum)) - target
            }
        }
        return out
    }
}
