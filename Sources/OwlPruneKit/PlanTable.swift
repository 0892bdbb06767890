import Foundation
import Pruning

/// The plan as a terminal table with a bar per block, so OWL's shape (low sparsity where outliers
/// are many) is visible at a glance. The bars start at sparsity 0 and end at 1 (eighth-block
/// resolution), so a ±0.08 spread looks like what it is rather than filling the terminal.
package struct PlanTable {
    package let plan: SparsityPlan

    package init(plan: SparsityPlan) {
        self.plan = plan
    }
    package static let barWidth = 40

    package func render() -> String {
        let isDLP = if case .dlp = plan.allocation { true } else { false }
        let isAlpha = if case .alpha = plan.allocation { true } else { false }
        let heading = isDLP ? "block  DLP score  sparsity  " : isAlpha ? "block   mean α    sparsity  " : "block  outliers%  sparsity  "
        let axis = "0" + String(repeating: " ", count: Self.barWidth / 2 - 2) + "0.5" + String(repeating: " ", count: Self.barWidth / 2 - 2) + "1"
        var lines = [heading + axis]
        let targetColumn = Int((plan.targetSparsity * Double(Self.barWidth)).rounded())
        for (i, s) in plan.blockSparsities.enumerated() {
            let ratio = plan.outlierRatios.map { String(format: isDLP ? "%9.3e" : "%9.4f", $0[i]) } ?? "        -"
            lines.append(String(format: "%5d  %@  %8.4f  ", i, ratio, s) + Self.bar(s, target: targetColumn))
        }
        lines.append(String(format: "mean sparsity %.6f (target %.4f, marked │), %@, %@", plan.meanBlockSparsity, plan.targetSparsity,
                            plan.method.rawValue, plan.pattern.description))
        if let grid = plan.settings?.atpBetaGrid {
            lines.append("ATP β auto: held-out perplexity on \(grid.heldoutWindows) windows (\(grid.heldoutTokens) tokens) cut from the end of --calib")
            for p in grid.points {
                lines.append(String(format: "  β %-12.6g perplexity %10.4f%@", p.beta, p.perplexity, p.beta == grid.chosen ? "  ← chosen" : ""))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// `s` of `barWidth` cells in eighths, padded to the full width, with the target column marked
    /// where the bar does not reach it.
    package static func bar(_ s: Double, target: Int) -> String {
        let eighths = Int((min(1, max(0, s)) * Double(barWidth * 8)).rounded())
        var cells = Array(repeating: "█", count: eighths / 8)
        let partial = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"][eighths % 8]
        if !partial.isEmpty { cells.append(partial) }
        while cells.count < barWidth { cells.append(" ") }
        if target >= 0, target < barWidth, cells[target] == " " { cells[target] = "│" }
        return cells.joined() + "│"
    }
}
