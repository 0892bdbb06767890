import Foundation
import Pruning

/// The plan as a terminal table with a bar per block, so OWL's shape (low sparsity where outliers
/// are many) is visible at a glance.
struct PlanTable {
    let plan: SparsityPlan

    func render() -> String {
        let isDLP = if case .dlp = plan.allocation { true } else { false }
        let isAlpha = if case .alpha = plan.allocation { true } else { false }
        let heading = isDLP ? "block  DLP score  sparsity  " : isAlpha ? "block   mean α    sparsity  " : "block  outliers%  sparsity  "
        var lines = [heading]
        let low = max(0, (plan.blockSparsities.min() ?? 0) - 0.05)
        let high = min(1, (plan.blockSparsities.max() ?? 1) + 0.01)
        for (i, s) in plan.blockSparsities.enumerated() {
            let ratio = plan.outlierRatios.map { String(format: isDLP ? "%9.3e" : "%9.4f", $0[i]) } ?? "        -"
            let width = high > low ? Int(((s - low) / (high - low) * 40).rounded()) : 20
            lines.append(String(format: "%5d  %@  %8.4f  ", i, ratio, s) + String(repeating: "█", count: max(width, 0)))
        }
        lines.append(String(format: "mean sparsity %.6f (target %.4f), %@, %@", plan.meanBlockSparsity, plan.targetSparsity,
                            plan.method.rawValue, plan.pattern.description))
        return lines.joined(separator: "\n")
    }
}
