import Cluster
import Diagnostics
import Foundation
import Pruning

/// The end of a prune: one line (or one JSON object with `--json`) with what was done, the
/// time, the output's size, the peak memory per rank and, with `--eval`, dense vs pruned perplexity.
package struct PruneSummary {
    package let model: String
    package let out: String
    package let allocation: String
    package let plan: SparsityPlan
    package let report: PruneReport
    package let perplexity: PruneEvaluation.Result?
    package let ranks: Int

    package init(model: String, out: String, allocation: String, plan: SparsityPlan, report: PruneReport, perplexity: PruneEvaluation.Result?, ranks: Int) {
        self.model = model
        self.out = out
        self.allocation = allocation
        self.plan = plan
        self.report = report
        self.perplexity = perplexity
        self.ranks = ranks
    }

    /// Bytes of the files in the output directory.
    package var outputBytes: Int {
        let url = URL(fileURLWithPath: out)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.reduce(0) { sum, name in
            let size = (try? FileManager.default.attributesOfItem(atPath: url.appendingPathComponent(name).path)[.size]) as? Int
            return sum + (size ?? 0)
        }
    }

    package var peakBytes: Int { report.perRank.map(\.peakRssBytes).max() ?? 0 }

    package struct JSON: Codable {
        package var model: String
        package var out: String
        package var method: String
        package var allocation: String
        package var pattern: String
        package var targetSparsity: Double
        package var achievedSparsity: Double
        package var blocks: Int
        package var ranks: Int
        package var wallSeconds: Double
        package var outputBytes: Int
        package var peakRssBytesPerRank: [Int]
        package var warnings: [String]
        package var plan: SparsityPlan
        package var eval: PruneEvaluation.Result?
    }

    package func print(json: Bool) throws {
        if json {
            let value = JSON(model: model, out: out, method: plan.method.rawValue, allocation: allocation,
                             pattern: plan.pattern.description, targetSparsity: plan.targetSparsity,
                             achievedSparsity: report.achievedSparsity, blocks: plan.blockSparsities.count, ranks: ranks,
                             wallSeconds: report.wallSeconds, outputBytes: outputBytes,
                             peakRssBytesPerRank: report.perRank.map(\.peakRssBytes), warnings: report.warnings ?? [],
                             plan: plan, eval: perplexity)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            printResult(String(decoding: try encoder.encode(value), as: UTF8.self))
            return
        }
        printResult(String(format: "pruned %@ → %@: %@ %@, target %.4f, achieved %.4f over the 7 linears of %d blocks, %d ranks",
                           model, out, plan.method.rawValue, allocation, plan.targetSparsity, report.achievedSparsity,
                           plan.blockSparsities.count, ranks))
        var line = String(format: "prune %.1f s, output %@, peak memory %@ (largest rank)",
                          report.wallSeconds, byteCountText(Double(outputBytes)), byteCountText(Double(peakBytes)))
        if let p = perplexity {
            let dense = p.dense.map { String(format: "dense %.4f → ", $0.perplexity) } ?? ""
            // One pass evaluates both models when the divergence is computed: its time is in each result once.
            let seconds = p.divergence != nil ? p.pruned.seconds : p.pruned.seconds + (p.dense?.seconds ?? 0)
            line += String(format: "; perplexity on %@: %@pruned %.4f (%d windows × %d, eval %.1f s)", (p.data as NSString).lastPathComponent,
                           dense, p.pruned.perplexity, p.pruned.windows, p.pruned.seqlen, seconds)
            if let d = p.divergence {
                line += String(format: "; mean KLD %.6f, same top %.2f%%", d.kld.value, 100 * d.sameTop.value)
            }
        }
        printResult(line)
    }
}
