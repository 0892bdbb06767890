import ArgumentParser
import Checkpoint
import Cluster
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

    /// What `--remove-by` hands the prune: the kept blocks, the removal's record, and with
    /// streamline's `linear`/`layer` the reduced model with block b replaced and the training log.
    struct Removal {
        var renumbering: BlockRenumbering
        var result: BlockRemovalResult
        var source: ReplacedBlockSource?
        var log: StreamlineTrainingLog?
    }

    /// `--remove-by`: the removal scored on the dense model; with `--remove-by streamline`, its
    /// replacement made exactly as `--method streamline` makes it (the same selection, ReplaceMe
    /// fit or training, on the same windows), so the combined run equals pruning that output.
    func removeBeforePruning(setup: PruneSetup, training: StreamlineTrainingSettings?) throws -> Removal? {
        guard let (kind, count) = depth.removal(method: method.method) else { return nil }
        guard kind == .streamline, let replacement = depth.effectiveReplacement(method: method.method), replacement != .none else {
            let (renumbering, result) = try removeBlocks(setup: setup, method: kind, count: count)
            return Removal(renumbering: renumbering, result: result)
        }
        let (renumbering, result, replaced, log) = try streamline(setup: setup, count: count, replacement: replacement, training: training)
        let base = RenumberedSource(base: setup.checkpoint, renumbering: renumbering)
        let source = try replaced.values.first.map {
            try ReplacedBlockSource(base: base, block: $0, input: setup.checkpoint, renumbering: renumbering)
        }
        return Removal(renumbering: renumbering, result: result, source: source, log: log)
    }

    /// Scores the dense model's blocks on the calibration windows, shows the choice on rank 0.
    func removeBlocks(setup: PruneSetup, method: BlockRemovalMethod, count: Int) throws
        -> (renumbering: BlockRenumbering, result: BlockRemovalResult) {
        try DepthSearch.check(count: count, method: method, blocks: setup.architecture.blockCount)
        let workers = try PruneSetup.workerCount(threads: threads, propagation: .sequential, split: .windows, comm: setup.comm)
        let search = DepthSearch(comm: setup.comm, architecture: setup.architecture, source: setup.checkpoint,
                                 windows: setup.windows, threads: workers, progress: progress)
        let result = try search.run(method: method, count: count)
        if setup.comm.rank == 0 { progress(DepthTable(result: result).render()) }
        return (BlockRenumbering(removing: result.removed, of: setup.architecture.blockCount), result)
    }

    /// LLM-Streamline (issue 24): the run's scores on the dense model, then its replacement.
    func streamline(setup: PruneSetup, count: Int, replacement: StreamlineReplacement, training: StreamlineTrainingSettings?) throws
        -> (renumbering: BlockRenumbering, result: BlockRemovalResult, replaced: [Int: DecoderBlock], log: StreamlineTrainingLog?) {
        try DepthSearch.check(count: count, method: .streamline, blocks: setup.architecture.blockCount)
        let workers = try PruneSetup.workerCount(threads: threads, propagation: .sequential, split: .windows, comm: setup.comm)
        let search = DepthSearch(comm: setup.comm, architecture: setup.architecture, source: setup.checkpoint,
                                 windows: setup.windows, threads: workers, progress: progress)
        let validation = training.map { _ in CalibrationWindows.consecutive(setup.heldout, length: setup.windows.length) }
        let journal = try training.map { try bindTrainingJournal(setup: setup, count: count, settings: $0, validation: validation!) }
        let (result, block, log) = try search.streamline(count: count, replacement: replacement, training: training, validation: validation,
                                                         journal: journal)
        if setup.comm.rank == 0 { progress(DepthTable(result: result).render()) }
        let renumbering = BlockRenumbering(removing: result.removed, of: setup.architecture.blockCount)
        // Block b keeps its index: every removed block comes after it.
        return (renumbering, result, block.map { [$0.index: $0] } ?? [:], log)
    }

    /// `--replacement layer`: the training's resume journal beside the output, bound to this
    /// training's settings on rank 0 (`StreamlineJournal.bind`); a failure or stop keeps it only
    /// when it holds a finished step, and says how to continue.
    func bindTrainingJournal(setup: PruneSetup, count: Int, settings: StreamlineTrainingSettings,
                             validation: CalibrationWindows) throws -> StreamlineJournal {
        let directory = StreamlineJournal.directory(forOutput: URL(fileURLWithPath: output.out))
        Runtime.onFailure { StreamlineJournal.removeIfNoState(directory) }
        Runtime.stopHint = { StreamlineJournal.resumeHint(directory) }
        if setup.comm.rank == 0 {
            let fingerprint = try StreamlineJournal.fingerprint(settings: settings, count: count, windows: setup.windows,
                                                                validation: validation, checkpoint: setup.checkpoint)
            for line in try StreamlineJournal.bind(directory: directory, fingerprint: fingerprint, resume: output.resume,
                                                   force: output.force) {
                progress(line)
            }
        }
        return StreamlineJournal(directory: directory)
    }

    /// Depth only: the removal, then every kept tensor copied under its new name.
    func runDepthOnly(comm: Communicator, staged: StagedDirectory) throws {
        let started = Date()
        var calibrationMethod = method
        calibrationMethod.method = .magnitude  // only the checkpoint and windows are used
        let training = depth.training(method: method.method, seed: calibration.seed, windows: calibration.nsamples)
        let setup = try PruneSetup(model: model.model, method: calibrationMethod, calibration: calibration, comm: comm,
                                   threads: threads, split: .windows, holdOut: training?.heldoutWindows ?? 0)
        let (kind, count) = depth.removal(method: method.method)!
        var renumbering: BlockRenumbering, result: BlockRemovalResult
        var replaced: [Int: DecoderBlock] = [:]
        var log: StreamlineTrainingLog?
        if kind == .streamline, let replacement = depth.effectiveReplacement(method: method.method) {
            (renumbering, result, replaced, log) = try streamline(setup: setup, count: count, replacement: replacement, training: training)
        } else {
            (renumbering, result) = try removeBlocks(setup: setup, method: kind, count: count)
        }
        let out = DepthOutput(comm: comm, input: setup.checkpoint, staged: staged, renumbering: renumbering,
                              architecture: setup.architecture, maxShardSize: shardSizeBytes, replaced: replaced)
        var report: DepthReport?
        try out.write { layout in
            let plan = DepthPlan(method: kind.rawValue, removeBlocks: count, blockRemoval: result,
                                 modelId: URL(fileURLWithPath: model.model).standardizedFileURL.lastPathComponent,
                                 seed: calibration.calib == nil ? nil : calibration.seed, windowsHash: setup.windows.hash, training: training,
                                 heldoutHash: training.map { _ in CalibrationWindows.consecutive(setup.heldout, length: setup.windows.length).hash })
            let made = DepthReport(
                started: started, finished: Date(), method: kind.rawValue, removeBlocks: count,
                arguments: .init(model: model.model, out: output.out, method: kind.rawValue, removeBlocks: count,
                                 nsamples: calibration.nsamples, seqlen: calibration.seqlen, seed: calibration.seed,
                                 calib: calibration.calib, calibTokens: calibration.calibTokens, threads: threads),
                ranks: comm.size, windows: setup.windows, blockRemoval: result, blocksPerRank: layout.blockRanges.map(Array.init),
                streamlineTraining: log)
            report = made
            var files = [PruneOutput.planFileName: try plan.json(),
                         PruneOutput.reportFileName: try PruneReport.encoder().encode(made)]
            if kind == .streamline {
                files[StreamlinePicture.fileName] = StreamlinePicture(result: result, training: log,
                                                                      title: URL(fileURLWithPath: model.model).lastPathComponent).data
            }
            return files
        }
        // The output is in place: the training journal has served.
        if training != nil && comm.rank == 0 {
            StreamlineJournal.remove(StreamlineJournal.directory(forOutput: URL(fileURLWithPath: output.out)))
        }
        let perplexity = try evaluation.evalData.map {
            try PruneEvaluation(comm: comm, dense: setup.checkpoint, prunedDirectory: output.out, options: evaluation).run(data: $0)
        }
        guard comm.rank == 0, let report else { return }
        if json {
            let encoder = PruneReport.encoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            struct Summary: Encodable { var report: DepthReport; var eval: PruneEvaluation.Result? }
            printResult(String(decoding: try encoder.encode(Summary(report: report, eval: perplexity)), as: UTF8.self))
        } else {
            if let p = perplexity {
                let dense = p.dense.map { String(format: "dense %.4f → ", $0.perplexity) } ?? ""
                let divergence = p.divergence.map { String(format: "; mean KLD %.6f, same top %.2f%%", $0.kld.value, 100 * $0.sameTop.value) } ?? ""
                printResult(String(format: "perplexity on %@: %@depth-pruned %.4f (%d windows × %d)%@", (p.data as NSString).lastPathComponent,
                                   dense, p.pruned.perplexity, p.pruned.windows, p.pruned.seqlen, divergence))
            }
            printResult("removed \(count) of \(renumbering.originalCount) blocks from \(model.model) → \(output.out) (\(kind.rawValue)): "
                        + "blocks \(result.removed.map(String.init).joined(separator: ", ")); \(comm.size) ranks, "
                        + String(format: "%.1f s", report.wallSeconds))
        }
    }
}

extension OwlPrune.Prune {
    /// `--dry-run` with `--remove-blocks` (issue 24 item 4): the depth pass's time and memory per
    /// rank (`DepthEstimate`), measured on one window per rank; nothing is written. Rank 0
    /// returns it.
    func depthDryRun(comm: Communicator) throws -> DepthEstimate? {
        var calibrationMethod = method
        calibrationMethod.method = .magnitude  // only the checkpoint and windows are used
        let (kind, count) = depth.removal(method: method.method)!
        let replacement = kind == .streamline ? depth.effectiveReplacement(method: method.method) ?? StreamlineReplacement.none : nil
        let training = depth.training(method: method.method, seed: calibration.seed, windows: calibration.nsamples)
        let setup = try PruneSetup(model: model.model, method: calibrationMethod, calibration: calibration, comm: comm,
                                   threads: threads, split: .windows, holdOut: training?.heldoutWindows ?? 0)
        let workers = try PruneSetup.workerCount(threads: threads, propagation: .sequential, split: .windows, comm: comm)
        let search = DepthSearch(comm: comm, architecture: setup.architecture, source: setup.checkpoint,
                                 windows: setup.windows, threads: workers, progress: progress)
        let estimate = try search.estimate(method: kind, count: count, replacement: replacement, training: training,
                                           validationWindows: training?.heldoutWindows ?? 0)
        return comm.rank == 0 ? estimate : nil
    }

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
