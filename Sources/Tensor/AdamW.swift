import Foundation

/// `torch.optim.AdamW` (amsgrad off, not maximising), as LLM-Streamline builds it:
/// `AdamW(replace_model.parameters(), lr=lr, weight_decay=wd)` with args.py's lr 2e-4 and
/// wd 1e-3, torch's defaults otherwise (betas (0.9, 0.999), eps 1e-8). One step, per tensor and
/// element, in float32 with the scalars formed in float64 as torch forms them in Python, each
/// operation in torch's order (`_single_tensor_adam` with decoupled weight decay):
///
///     p  ← p · (1 − lr·wd)
///     m  ← m + (1 − β1)·(g − m)                    (lerp with weight < 0.5)
///     v  ← v·β2 + ((1 − β2)·g)·g                   (mul_, addcmul_)
///     p  ← p + (−lr/(1 − β1ᵗ))·m / (sqrt(v)·(1/sqrt(1 − β2ᵗ)) + eps)   (addcdiv_)
///
/// Elements are independent, so the result does not depend on how the work is split; the
/// moments are float32 as torch keeps them for float32 parameters.
public struct AdamW: Sendable, Equatable, Codable {
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    public var weightDecay: Double
    /// Steps taken so far (torch's `state["step"]`).
    public private(set) var step: Int
    public private(set) var firstMoment: [[Float]]
    public private(set) var secondMoment: [[Float]]

    /// State for tensors of the given sizes, moments zero as torch initialises them lazily.
    public init(sizes: [Int], weightDecay: Double, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.step = 0
        self.firstMoment = sizes.map { [Float](repeating: 0, count: $0) }
        self.secondMoment = sizes.map { [Float](repeating: 0, count: $0) }
    }

    /// A state saved earlier (`StreamlineJournal`): the same moments and step count continue
    /// exactly where the saved run stopped.
    public init(restoring step: Int, firstMoment: [[Float]], secondMoment: [[Float]], weightDecay: Double,
                beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8) {
        precondition(step >= 0 && firstMoment.map(\.count) == secondMoment.map(\.count), "AdamW: inconsistent saved state")
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.step = step
        self.firstMoment = firstMoment
        self.secondMoment = secondMoment
    }

    /// One optimizer step at learning rate `learningRate` (the scheduler's value for this step;
    /// torch applies the moment updates even when it is 0, as at the first step of a warmup).
    public mutating func update(_ parameters: inout [[Float]], gradients: [[Float]], learningRate: Double) {
        precondition(parameters.count == firstMoment.count && gradients.count == firstMoment.count,
                     "AdamW: \(parameters.count) parameters and \(gradients.count) gradients for \(firstMoment.count) states")
        step += 1
        let decay = Float(1 - learningRate * weightDecay)
        let lerpWeight = Float(1 - beta1)
        let b2 = Float(beta2), oneMinusB2 = Float(1 - beta2)
        let bias1 = 1 - Foundation.pow(beta1, Double(step))
        // torch divides a tensor by a CPU scalar as a product with its float32 reciprocal.
        let inverseBias2Root = 1 / Float((1 - Foundation.pow(beta2, Double(step))).squareRoot())
        let stepSize = Float(-(learningRate / bias1))
        let eps = Float(epsilon)
        for t in parameters.indices {
            precondition(parameters[t].count == firstMoment[t].count && gradients[t].count == firstMoment[t].count,
                         "AdamW: tensor \(t) has \(parameters[t].count) parameters, \(gradients[t].count) gradients, state \(firstMoment[t].count)")
            let g = gradients[t]
            for i in parameters[t].indices {
                var p = parameters[t][i]
                p = p * decay
                var m = firstMoment[t][i]
                m = m + lerpWeight * (g[i] - m)
                var v = secondMoment[t][i]
                v = v * b2
                v = v + oneMinusB2 * g[i] * g[i]
                let denom = v.squareRoot() * inverseBias2Root + eps
                p = p + stepSize * m / denom
                parameters[t][i] = p
                firstMoment[t][i] = m
                secondMoment[t][i] = v
            }
        }
    }
}
