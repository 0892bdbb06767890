/// `torch.nn.utils.clip_grad_norm_`, which LLM-Streamline applies before every optimizer step
/// (`train_lightweightnetwork.py`: `clip_grad_norm_(replace_model.parameters(), max_norm=5)`).
/// torch takes the 2-norm of the per-tensor 2-norms, then multiplies every gradient by
/// min(1, max_norm / (norm + 1e-6)) — always, the factor being 1 when nothing is clipped. The
/// norm here is accumulated in float64 over the tensors in the order given (torch sums float32
/// norms; the difference is below float32's resolution of the factor), so it depends only on
/// the gradients, never on thread or rank count.
public enum GradientClipping {
    /// The total 2-norm of all tensors, summed in float64 in order.
    public static func norm(_ tensors: [[Float]]) -> Double {
        var sum = 0.0
        for t in tensors { for x in t { sum += Double(x) * Double(x) } }
        return sum.squareRoot()
    }

    /// Scales `tensors` in place as torch does and returns the norm before clipping (what torch
    /// returns and what a training report shows).
    @discardableResult
    public static func clip(_ tensors: inout [[Float]], maxNorm: Double) -> Double {
        precondition(maxNorm > 0, "gradient clipping: max norm must be positive")
        let total = norm(tensors)
        let factor = Float(min(1, maxNorm / (total + 1e-6)))
        if factor == 1 { return total }  // multiplying by 1 changes no bit
        for t in tensors.indices {
            for i in tensors[t].indices { tensors[t][i] *= factor }
        }
        return total
    }
}
