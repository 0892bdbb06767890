import ArgumentParser
import Checkpoint
import Cluster
import Distribution
import Foundation
import Model
import Pruning

/// Depth removal before (or instead of) pruning: ShortGPT/SLEB scoring, or LLM-Streamline's
/// selection and replacement, on a `PruneSetup`'s model and windows. One value of this type is
/// what `prune` and a sweep cell with `remove-blocks` share, so a cell removes exactly the
/// blocks (and makes exactly the block b) its `owlprune prune` would.
package struct DepthRemovalStep {
    package var depth: DepthOptions
    /// The command's `--method` (a pruning method with `--remove-by`, or the depth method itself).
    package var method: MethodName
    package var threads: Int?
    /// The output directory; `layer`'s training journal lives beside it.
    package var out: String
    package var resume: Bool
    package var force: Bool
    /// Receives the chosen blocks (rank 0 only) for the caller to show.
    package var events: RunEvents

    package init(depth: DepthOptions, method: MethodName, threads: Int? = nil, out: String, resume: Bool, force: Bool, events: @escaping RunEvents) {
        self.depth = depth
        self.method = method
        self.threads = threads
        self.out = out
        self.resume = resume
        self.force = force
        self.events = events
    }

    /// What `--remove-by` hands the prune: the kept blocks, the removal's record, and with
    /// streamline's `linear`/`layer` the reduced model with block b replaced and the training log.
    package struct Removal {
        package var renumbering: BlockRenumbering
        package var result: BlockRemovalResult
        package var source: ReplacedBlockSource?
        package var log: StreamlineTrainingLog?
    }

    /// `--remove-by`: the removal scored on the dense model; with `--remove-by streamline`, its
    /// replacement made exactly as `--method streamline` makes it (the same selection, ReplaceMe
    /// fit or training, on the same windows), so the combined run equals pruning that output.
    package func removeBeforePruning(setup: PruneSetup, training: StreamlineTrainingSettings?) throws -> Removal? {
        guard let (kind, count) = depth.removal(method: method) else { return nil }
        guard kind == .streamline, let replacement = depth.effectiveReplacement(method: method), replacement != .none else {
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
    package func removeBlocks(setup: PruneSetup, method: BlockRemovalMethod, count: Int) throws
        -> (renumbering: BlockRenumbering, result: BlockRemovalResult) {
        try DepthSearch.check(count: count, method: method, blocks: setup.architecture.blockCount)
        let workers = try PruneSetup.workerCount(threads: threads, propagation: .sequential, split: .windows, comm: setup.comm)
        let search = DepthSearch(comm: setup.comm, architecture: setup.architecture, source: setup.checkpoint,
                                 windows: setup.windows, threads: workers, progress: progress)
        let result = try search.run(method: method, count: count)
        if setup.comm.rank == 0 { events(.blocksChosen(result)) }
        return (BlockRenumbering(removing: result.removed, of: setup.architecture.blockCount), result)
    }

    /// LLM-Streamline (issue 24): the run's scores on the dense model, then its replacement.
    package func streamline(setup: PruneSetup, count: Int, replacement: StreamlineReplacement, training: StreamlineTrainingSettings?) throws
        -> (renumbering: BlockRenumbering, result: BlockRemovalResult, replaced: [Int: DecoderBlock], log: StreamlineTrainingLog?) {
        try DepthSearch.check(count: count, method: .streamline, blocks: setup.architecture.blockCount)
        let workers = try PruneSetup.workerCount(threads: threads, propagation: .sequential, split: .windows, comm: setup.comm)
        let search = DepthSearch(comm: setup.comm, architecture: setup.architecture, source: setup.checkpoint,
                                 windows: setup.windows, threads: workers, progress: progress)
        let validation = training.map { _ in CalibrationWindows.consecutive(setup.heldout, length: setup.windows.length) }
        let journal = try training.map { try bindTrainingJournal(setup: setup, count: count, settings: $0, validation: validation!) }
        let (result, block, log) = try search.streamline(count: count, replacement: replacement, training: training, validation: validation,
                                                         journal: journal)
        if setup.comm.rank == 0 { events(.blocksChosen(result)) }
        let renumbering = BlockRenumbering(removing: result.removed, of: setup.architecture.blockCount)
        // Block b keeps its index: every removed block comes after it.
        return (renumbering, result, block.map { [$0.index: $0] } ?? [:], log)
    }

    /// `--replacement layer`: the training's resume journal beside the output, bound to this
    /// training's settings on rank 0 (`StreamlineJournal.binding`); a failure or stop keeps it only
    /// when it holds a finished step, and says how to continue.
    package func bindTrainingJournal(setup: PruneSetup, count: Int, settings: StreamlineTrainingSettings,
                             validation: CalibrationWindows) throws -> StreamlineJournal {
        let directory = StreamlineJournal.directory(forOutput: URL(fileURLWithPath: out))
        Runtime.onFailure { StreamlineJournal.binding.removeIfNothingFinished(directory) }
        Runtime.stopHint = { StreamlineJournal.binding.resumeHint(directory) }
        if setup.comm.rank == 0 {
            let fingerprint = try StreamlineJournal.fingerprint(settings: settings, count: count, windows: setup.windows,
                                                                validation: validation, checkpoint: setup.checkpoint)
            for line in try StreamlineJournal.binding.bind(directory: directory, fingerprint: fingerprint, resume: resume,
                                                   force: force) {
                events(.progress(line))
            }
        }
        return StreamlineJournal(directory: directory)
    }

}
