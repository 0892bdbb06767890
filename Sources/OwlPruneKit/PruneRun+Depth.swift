import Checkpoint
import Cluster
import Distribution
import Foundation
import MPIKit
import Model
import Pruning

/// What a depth-only run (`--method shortgpt|sleb|streamline`) hands its caller on rank 0.
package struct DepthOutcome {
    package var report: DepthReport
    package var perplexity: PruneEvaluation.Result?
    /// Blocks in the input, and the method that chose which to remove.
    package var originalBlocks: Int
    package var method: BlockRemovalMethod
}

extension PruneRun {
    /// Depth only: the removal, then every kept tensor copied under its new name.
    func runDepthOnly(comm: Communicator, staged: StagedDirectory, events: @escaping RunEvents) throws -> DepthOutcome? {
        let started = Date()
        var calibrationMethod = method
        calibrationMethod.method = .magnitude  // only the checkpoint and windows are used
        let training = depth.training(method: method.method, seed: calibration.seed, windows: calibration.nsamples)
        let setup = try PruneSetup(model: model, method: calibrationMethod, calibration: calibration, comm: comm,
                                   threads: threads, split: .windows, holdOut: training?.heldoutWindows ?? 0, events: events)
        let (kind, count) = depth.removal(method: method.method)!
        var renumbering: BlockRenumbering, result: BlockRemovalResult
        var replaced: [Int: DecoderBlock] = [:]
        var log: StreamlineTrainingLog?
        let step = removalStep(events: events)
        if kind == .streamline, let replacement = depth.effectiveReplacement(method: method.method) {
            (renumbering, result, replaced, log) = try step.streamline(setup: setup, count: count, replacement: replacement, training: training)
        } else {
            (renumbering, result) = try step.removeBlocks(setup: setup, method: kind, count: count)
        }
        let out = DepthOutput(comm: comm, input: setup.checkpoint, staged: staged, renumbering: renumbering,
                              architecture: setup.architecture, maxShardSize: shardSizeBytes, replaced: replaced)
        var report: DepthReport?
        try out.write { layout in
            let plan = DepthPlan(method: kind.rawValue, removeBlocks: count, blockRemoval: result,
                                 modelId: URL(fileURLWithPath: model).standardizedFileURL.lastPathComponent,
                                 seed: calibration.calib == nil ? nil : calibration.seed, windowsHash: setup.windows.hash, training: training,
                                 heldoutHash: training.map { _ in CalibrationWindows.consecutive(setup.heldout, length: setup.windows.length).hash })
            let made = DepthReport(
                started: started, finished: Date(), method: kind.rawValue, removeBlocks: count,
                arguments: .init(model: model, out: output.out, method: kind.rawValue, removeBlocks: count,
                                 nsamples: calibration.nsamples, seqlen: calibration.seqlen, seed: calibration.seed,
                                 calib: calibration.calib, calibTokens: calibration.calibTokens, threads: threads),
                ranks: comm.size, windows: setup.windows, blockRemoval: result, blocksPerRank: layout.blockRanges.map(Array.init),
                streamlineTraining: log)
            report = made
            var files = [PruneOutput.planFileName: try plan.json(),
                         PruneOutput.reportFileName: try PruneReport.encoder().encode(made)]
            if kind == .streamline {
                files[StreamlinePicture.fileName] = StreamlinePicture(result: result, training: log,
                                                                      title: URL(fileURLWithPath: model).lastPathComponent).data
            }
            return files
        }
        // The output is in place: the training journal has served.
        if training != nil && comm.rank == 0 {
            StreamlineJournal.remove(StreamlineJournal.directory(forOutput: URL(fileURLWithPath: output.out)))
        }
        let perplexity = try evaluation.evalData.map {
            try PruneEvaluation(comm: comm, dense: setup.checkpoint, prunedDirectory: output.out, options: evaluation, events: events).run(data: $0)
        }
        guard comm.rank == 0, let report else { return nil }
        return DepthOutcome(report: report, perplexity: perplexity, originalBlocks: renumbering.originalCount, method: kind)
    }

    /// `--dry-run` with `--remove-blocks` (issue 24 item 4): the depth pass's time and memory per
    /// rank (`DepthEstimate`), measured on one window per rank; nothing is written. Rank 0
    /// returns it.
    package func depthEstimate(comm: Communicator, events: @escaping RunEvents) throws -> DepthEstimate? {
        var calibrationMethod = method
        calibrationMethod.method = .magnitude  // only the checkpoint and windows are used
        let (kind, count) = depth.removal(method: method.method)!
        let replacement = kind == .streamline ? depth.effectiveReplacement(method: method.method) ?? StreamlineReplacement.none : nil
        let training = depth.training(method: method.method, seed: calibration.seed, windows: calibration.nsamples)
        let setup = try PruneSetup(model: model, method: calibrationMethod, calibration: calibration, comm: comm,
                                   threads: threads, split: .windows, holdOut: training?.heldoutWindows ?? 0, events: events)
        let workers = try PruneSetup.workerCount(threads: threads, propagation: .sequential, split: .windows, comm: comm)
        let search = DepthSearch(comm: comm, architecture: setup.architecture, source: setup.checkpoint,
                                 windows: setup.windows, threads: workers, progress: { setup.events(.progress($0)) })
        let estimate = try search.estimate(method: kind, count: count, replacement: replacement, training: training,
                                           validationWindows: training?.heldoutWindows ?? 0)
        return comm.rank == 0 ? estimate : nil
    }
}
