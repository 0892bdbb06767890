import Foundation
import Pruning

/// `sweep.json`: the grid, the shared settings, what the shared work cost, and every cell.
package struct SweepSummary: Codable, Sendable {
    package var owlpruneVersion: String
    package var model: String
    package var calibration: String
    package var evaluation: String
    package var settings: String
    package var ranks: Int
    package var ranksPerCell: Int
    package var shared: SharedWork
    package var wallSeconds: Double
    package var cells: [SweepCellResult]
    /// Cells taken from an interrupted sweep (`--resume`) instead of being run again.
    package var resumedCells: [String]

    package init(owlpruneVersion: String, model: String, calibration: String, evaluation: String, settings: String, ranks: Int, ranksPerCell: Int, shared: SharedWork, wallSeconds: Double, cells: [SweepCellResult], resumedCells: [String]) {
        self.owlpruneVersion = owlpruneVersion
        self.model = model
        self.calibration = calibration
        self.evaluation = evaluation
        self.settings = settings
        self.ranks = ranks
        self.ranksPerCell = ranksPerCell
        self.shared = shared
        self.wallSeconds = wallSeconds
        self.cells = cells
        self.resumedCells = resumedCells
    }

    package struct SharedWork: Codable, Sendable {
        /// Calibration windows (tokenize + draw), evaluation text (tokenize), dense statistics passes.
        package var calibrationSeconds: Double
        package var evaluationTokensSeconds: Double
        package var statisticsSeconds: [String: Double]
        /// What running each cell alone would have spent again on the same work.
        package var savedSeconds: Double

        package init(calibrationSeconds: Double, evaluationTokensSeconds: Double, statisticsSeconds: [String: Double], savedSeconds: Double) {
            self.calibrationSeconds = calibrationSeconds
            self.evaluationTokensSeconds = evaluationTokensSeconds
            self.statisticsSeconds = statisticsSeconds
            self.savedSeconds = savedSeconds
        }
    }

    package static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return e
    }

    /// One row per cell, grid order; numbers with full precision so the file can be re-plotted.
    package var csv: String {
        var lines = ["method,allocation,target_sparsity,achieved_sparsity,perplexity,prune_seconds,eval_seconds,ranks,group,mean_kld,same_top,remove_blocks"]
        for r in cells {
            lines.append([r.cell.method.rawValue, r.cell.allocation.rawValue, "\(r.cell.sparsity)", "\(r.achievedSparsity)", "\(r.perplexity)",
                          String(format: "%.3f", r.pruneSeconds), String(format: "%.3f", r.evalSeconds), "\(r.ranks)", "\(r.group)",
                          r.meanKLD.map { "\($0)" } ?? "", r.sameTop.map { "\($0)" } ?? "", r.cell.removeBlocks.map { "\($0)" } ?? ""]
                .joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The screen table: one row per method × allocation, one column per sparsity.
    package var table: String {
        let sparsities = Array(Set(cells.map(\.cell.sparsity))).sorted()
        var series: [String] = []
        for r in cells where !series.contains(r.cell.series) { series.append(r.cell.series) }
        var rows: [String] = []
        // Perplexity, then how far each cell moved from the dense model (docs/quality.md).
        let quantities: [(String, (SweepCellResult) -> String)] = [
            ("perplexity", { String(format: "%.4f", $0.perplexity) }),
            ("mean KLD", { $0.meanKLD.map { String(format: "%.6f", $0) } ?? "-" }),
            ("same top %", { $0.sameTop.map { String(format: "%.2f", 100 * $0) } ?? "-" }),
        ]
        for (name, value) in quantities {
            rows.append(name.padding(toLength: 22, withPad: " ", startingAt: 0)
                + sparsities.map { leftPadded(String(format: "s=%.2f", $0), 12) }.joined())
            for s in series {
                var row = s.padding(toLength: 22, withPad: " ", startingAt: 0)
                for sp in sparsities {
                    let r = cells.first { $0.cell.series == s && $0.cell.sparsity == sp }
                    row += leftPadded(r.map(value) ?? "-", 12)
                }
                rows.append(row)
            }
        }
        return rows.joined(separator: "\n")
    }
}

private func leftPadded(_ text: String, _ width: Int) -> String {
    String(repeating: " ", count: max(0, width - text.count)) + text
}
