/// The loss LLM-Streamline trains its replacement layer with: torch's `nn.MSELoss()` (mean over
/// every token and hidden dimension) of the layer's output against the hidden state it stands in
/// for (`train_lightweightnetwork.py`, `criterion = nn.MSELoss()`). A training step spans many
/// windows, possibly on several ranks, so the loss is split into per-window parts that combine
/// exactly: each window gives its float64 sum of squares, and its gradient is computed against
/// the element count of the whole step, so that summing the windows' gradients in window order
/// gives the gradient of the step's mean.
public enum MeanSquaredError {
    /// Σ (prediction − target)² over the window, accumulated in float64 in element order.
    public static func sumOfSquares(prediction: Matrix, target: Matrix) -> Double {
        precondition(prediction.rows == target.rows && prediction.cols == target.cols, "MSE: shape mismatch")
        var sum = 0.0
        for i in 0..<prediction.count {
            let d = Double(prediction.elements[i]) - Double(target.elements[i])
            sum += d * d
        }
        return sum
    }

    /// ∂/∂prediction of Σ_step (prediction − target)² / `elements`, for this window's part of the
    /// step: 2·(prediction − target)/elements, with the factor rounded to float32 once and the
    /// difference taken in float32, as torch's `mse_loss_backward` does.
    public static func gradient(prediction: Matrix, target: Matrix, elements: Int) -> Matrix {
        precondition(prediction.rows == target.rows && prediction.cols == target.cols, "MSE: shape mismatch")
        precondition(elements > 0, "MSE: a step needs at least one element")
        let factor = Float(2 / Double(elements))
        var g = Matrix(rows: prediction.rows, cols: prediction.cols)
        for i in 0..<g.count { g.elements[i] = factor * (prediction.elements[i] - target.elements[i]) }
        return g
    }
}
