import Foundation

/// Every failure of the Pruning module. Messages are one line and name the layer or the
/// command-line argument, so the CLI can print `owlprune: rank k: <message>` unchanged.
public enum PruningError: Error, LocalizedError, Equatable {
    /// A sparsity outside `[0, 1)` (or a count that would remove every weight).
    case invalidSparsity(layer: String, sparsity: Double)
    /// N:M with `N ≥ M`, `N < 1`, or a dimension not divisible by `M`.
    case invalidPattern(layer: String, n: Int, m: Int, detail: String)
    /// A statistic needed by the method was not collected or has the wrong length.
    case missingStatistic(layer: String, statistic: String)
    case shapeMismatch(layer: String, detail: String)
    /// A calibration statistic holds NaN or ±inf (activations overflowed float32).
    case nonFiniteStatistic(layer: String, statistic: String, column: Int)
    /// SparseGPT: the damped Hessian (or its inverse) is not positive definite.
    case hessianNotPositiveDefinite(layer: String, damp: Double)
    /// Options that cannot be combined (e.g. DaSS with SparseGPT).
    case incompatibleOptions(String)
    /// OWL λ too large: a block would reach sparsity ≥ 1.
    case owlLambdaTooLarge(lambda: Double, block: Int, sparsity: Double, largestValid: Double)
    /// OWL λ so large for the target that the 0.01 floor raised a block and the plan's mean is not the target.
    case owlMeanDeparts(lambda: Double, target: Double, mean: Double, block: Int, largestValid: Double)
    /// ATP β outside `[0, β_max]`.
    case atpBetaInvalid(beta: Double, block: Int, sparsity: Double, largestValid: Double)
    /// A hyper-parameter outside its domain (`--owl-m`, `--owl-lambda`, block count, ratios).
    case invalidArgument(argument: String, value: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .invalidSparsity(layer, s):
            "layer \(layer): sparsity \(s) is outside [0, 1) or prunes every weight"
        case let .invalidPattern(layer, n, m, detail):
            "layer \(layer): pattern \(n):\(m) is invalid: \(detail)"
        case let .missingStatistic(layer, statistic):
            "layer \(layer): the \(statistic) statistic is required but was not collected"
        case let .shapeMismatch(layer, detail):
            "layer \(layer): \(detail)"
        case let .nonFiniteStatistic(layer, statistic, column):
            "layer \(layer): the \(statistic) statistic is not finite at input column \(column) (activations overflowed float32); the checkpoint or calibration data is broken"
        case let .hessianNotPositiveDefinite(layer, damp):
            "layer \(layer): Hessian not positive definite after damping \(damp); try a larger --damp"
        case let .incompatibleOptions(what):
            what
        case let .owlLambdaTooLarge(lambda, block, s, valid):
            "--owl-lambda \(lambda) pushes block \(block) to sparsity \(format(s)); the largest valid value is \(valid)"
        case let .owlMeanDeparts(lambda, target, mean, block, valid):
            "--owl-lambda \(lambda) at --sparsity \(format(target)) pushes block \(block) below sparsity 0 (raised to 0.01), so the plan's mean sparsity is \(format(mean)), not the target; the largest valid value is \(valid)"
        case let .atpBetaInvalid(beta, block, s, valid):
            beta < 0
                ? "--atp-beta \(beta) is negative; it must be in [0, \(valid)]"
                : "--atp-beta \(beta) pushes block \(block) to sparsity \(format(s)); the largest valid value is \(valid)"
        case let .invalidArgument(argument, value, reason):
            "\(argument) \(value): \(reason)"
        }
    }
}

/// Two decimals for sparsities in messages ("1.02"), enough to show how far past 1 it is.
private func format(_ x: Double) -> String {
    String(format: "%.2f", x)
}
