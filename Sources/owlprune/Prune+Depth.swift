import OwlPruneKit
import ArgumentParser
import Checkpoint
import Cluster
import Distribution
import Foundation
import MPIKit
import Model
import Pruning

/// `prune --remove-blocks K` (issue 12 item 6): whole blocks removed by ShortGPT or SLEB, alone
/// (`--method shortgpt|sleb`) or before pruning the rest (`--remove-by`).
extension OwlPrune.Prune {
    /// Flags that do nothing when only blocks are removed are refused rather than ignored.
    func validateDepthOnly() throws {
        guard DepthOptions.isDepthMethod(method.method) else { return }
        let m = method.method
        if dtype != nil { throw ValidationError("--dtype: not available with --method \(m) (tensors are copied unchanged)") }
        if output.resume && depth.effectiveReplacement(method: m) != .layer {
            throw ValidationError("--resume: not available with --method \(m) (nothing is journaled; only --replacement layer's training is)")
        }
        if recipe.recipe != nil { throw ValidationError("--recipe: not available with --method \(m)") }
        if depth.effectiveReplacement(method: m) == .layer && calibration.calib == nil {
            throw ValidationError("--replacement layer needs --calib FILE (its validation windows are cut from the end of the text); or give --replacement none|linear")
        }
    }

    /// `--remove-by streamline` with `layer` (its default): the training's validation windows are
    /// cut from the end of `--calib`, which `--atp-beta auto` also claims for its own.
    func validateRemoveByStreamline() throws {
        guard !DepthOptions.isDepthMethod(method.method), depth.removeBy == .streamline,
              depth.effectiveReplacement(method: method.method) == .layer else { return }
        if calibration.calib == nil {
            throw ValidationError("--replacement layer needs --calib FILE (its validation windows are cut from the end of the text); or give --replacement none|linear")
        }
        if method.atpAuto {
            throw ValidationError("--atp-beta auto: not available with --remove-by streamline --replacement layer (both hold out the end of --calib); give a number, or --replacement none|linear")
        }
    }

    /// The end of a depth-only run (rank 0): its report and evaluation as one JSON object, or the lines.
    func render(_ outcome: DepthOutcome) throws {
        let report = outcome.report
        if json {
            let encoder = PruneReport.encoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            struct Summary: Encodable { var report: DepthReport; var eval: PruneEvaluation.Result? }
            printResult(String(decoding: try encoder.encode(Summary(report: report, eval: outcome.perplexity)), as: UTF8.self))
            return
        }
        if let p = outcome.perplexity {
            let dense = p.dense.map { String(format: "dense %.4f → ", $0.perplexity) } ?? ""
            let divergence = p.divergence.map { String(format: "; mean KLD %.6f, same top %.2f%%", $0.kld.value, 100 * $0.sameTop.value) } ?? ""
            printResult(String(format: "perplexity on %@: %@depth-pruned %.4f (%d windows × %d)%@", (p.data as NSString).lastPathComponent,
                               dense, p.pruned.perplexity, p.pruned.windows, p.pruned.seqlen, divergence))
        }
        let removed = report.blockRemoval.removed
        printResult("removed \(removed.count) of \(outcome.originalBlocks) blocks from \(model.model) → \(output.out) (\(outcome.method.rawValue)): "
                    + "blocks \(removed.map(String.init).joined(separator: ", ")); \(report.ranks) ranks, "
                    + String(format: "%.1f s", report.wallSeconds))
    }
}

extension OwlPrune.Prune {
    static func render(_ e: DepthEstimate) -> String {
        let what = e.method + (e.replacement.map { " (replacement \($0))" } ?? "")
        var lines = [String(format: "depth estimate for %d rank%@ (%d threads/rank), %d windows × %d tokens: %@, remove %d blocks",
                            e.ranks, e.ranks == 1 ? "" : "s", e.threadsPerRank, e.calibrationWindows, e.seqlen, what, e.removeBlocks),
                     String(format: "scoring: %d block forwards per window (measured %.4f s per block and window)",
                            e.blockPassesPerWindow, e.measuredForwardSeconds)]
        if let t = e.training, let steps = e.trainingSteps, let perEpoch = e.stepsPerEpoch {
            lines.append(String(format: "training: %d steps (%d per epoch × %d epochs, %d windows per step, lr %g), a layer of %d parameters "
                                + "(measured %.4f s per window forward and backward); validation on %d held-out windows",
                                steps, perEpoch, t.epochs, t.batch, t.learningRate, e.layerParameters ?? 0,
                                e.measuredTrainingWindowSeconds ?? 0, e.perRank.map(\.validationWindows).reduce(0, +)))
        }
        lines.append("rank   windows  model       hidden      training    memory      time")
        for r in e.perRank {
            let b = { (n: Int) in MemoryCheck.format(bytes: Double(n)).padding(toLength: 10, withPad: " ", startingAt: 0) }
            lines.append(String(format: "%4d  %8d  ", r.rank, r.windows) + b(r.modelBytes) + "  " + b(r.hiddenStateBytes) + "  "
                         + b(r.trainingBytes) + "  " + b(r.memoryBoundBytes) + String(format: "  %8.1f s", r.seconds))
        }
        lines.append(String(format: "total ≈ %.1f s (from one measured window per rank; reads, writes and communication not included)",
                            e.wallSeconds))
        return lines.joined(separator: "\n")
    }

    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// The block scores as a table on stderr, removed blocks marked, in the style of `PlanTable`.
struct DepthTable {
    let result: BlockRemovalResult

    func render() -> String {
        let sleb = result.method == BlockRemovalMethod.sleb.rawValue
        if let run = result.run { return renderStreamline(run: run) }
        var lines = [sleb ? "block  perplexity without it (round 1)  removed" : "block  block influence  removed"]
        for (b, score) in result.scores.enumerated() {
            let value = score.map { String(format: sleb ? "%14.4f" : "%15.6f", $0) } ?? (sleb ? "             -" : "              -")
            let order = result.removed.firstIndex(of: b).map { sleb ? "  ✗ (round \($0 + 1))" : "  ✗" } ?? ""
            lines.append(String(format: "%5d  ", b) + value + order)
        }
        lines.append("\(result.method): remove \(result.removed.count) of \(result.scores.count) blocks: "
                     + result.removed.map(String.init).joined(separator: ", "))
        return lines.joined(separator: "\n")
    }

    /// Streamline: one row per run start j, the score of the run [j, j + K], the chosen run marked.
    private func renderStreamline(run: [Int]) -> String {
        let k = run[1] - run[0]
        var lines = ["start  run        score (0.5 + 0.5·cos)  chosen"]
        for (j, score) in result.scores.enumerated() {
            guard let score else { continue }
            let span = String(format: "%d…%d", j, j + k).padding(toLength: 9, withPad: " ", startingAt: 0)
            lines.append(String(format: "%5d  ", j) + span + String(format: "  %21.6f", score) + (j == run[0] ? "  ✓" : ""))
        }
        let by = switch StreamlineReplacement(rawValue: result.replacement ?? "") {
        case .linear: "block \(run[0]) with ReplaceMe's map in its down_proj"
        case .layer: "block \(run[0]) trained to stand in for the run"
        default: "block \(run[0]) unchanged"
        }
        lines.append("streamline: replace blocks \(run[0])…\(run[1]) by \(by); "
                     + "remove \(result.removed.count) of \(result.scores.count) blocks: " + result.removed.map(String.init).joined(separator: ", "))
        return lines.joined(separator: "\n")
    }
}
