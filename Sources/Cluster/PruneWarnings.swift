import Diagnostics
import Foundation
import Pruning

/// What a run should say on screen as well as in `owlprune-report.json` (issue 13 item 2):
/// nothing the user must act on stays hidden in a file.
public enum PruneWarnings {
    /// Realized sparsity further than this from what was planned is worth a line (the `≤ τ`
    /// rules of magnitude and SparseGPT overshoot by ties only, far below it).
    public static let realizedTolerance = 0.005

    /// Warnings known as soon as the plan is agreed, before phase 2.
    public static func of(plan: SparsityPlan) -> [String] {
        var lines: [String] = []
        let target = plan.targetSparsity
        let clamped = plan.blockSparsities.enumerated().filter { abs($0.element - 0.01) < 1e-12 && target > 0.01 }
        if case .owl = plan.allocation, plan.pattern.fixedSparsity == nil, !clamped.isEmpty {
            lines.append(String(format: "warning: plan clamped: OWL's 0.01 floor raised block(s) %@; mean block sparsity %.4f instead of the target %.4f (lower --owl-lambda to avoid it)",
                                clamped.map { String($0.offset) }.joined(separator: ","), plan.meanBlockSparsity, target))
        }
        let linearMean = plan.linearSparsities.isEmpty ? 0 : plan.linearSparsities.map { row in
            LinearKind.allCases.reduce(0.0) { $0 + (row[$1] ?? 0) } / Double(LinearKind.allCases.count)
        }.reduce(0, +) / Double(plan.linearSparsities.count)
        if abs(linearMean - plan.meanBlockSparsity) > 1e-9 {
            lines.append(String(format: "warning: recipe overrides/ignore change the mean linear sparsity to %.4f (target %.4f)",
                                linearMean, target))
        }
        return lines
    }

    /// Warnings from the finished run: realized sparsity far from the plan, memory above the bound.
    public static func of(report: PruneReport) -> [String] {
        var lines: [String] = []
        let total = report.linears.reduce(0) { $0 + $1.total }
        let planned = report.linears.reduce(0.0) { $0 + $1.plannedSparsity * Double($1.total) } / Double(max(total, 1))
        if abs(report.achievedSparsity - planned) > realizedTolerance {
            lines.append(String(format: "warning: realized sparsity %.4f is far from the planned %.4f", report.achievedSparsity, planned))
        }
        for r in report.perRank where !r.memoryBudget.peakWithinBound {
            lines.append("warning: rank \(r.rank) peak memory \(byteCountText(Double(r.peakRssBytes))) exceeded its estimated bound \(byteCountText(Double(r.memoryBudget.boundBytes))) (peak_within_bound false)")
        }
        return lines
    }
}
