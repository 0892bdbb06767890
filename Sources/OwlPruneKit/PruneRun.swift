import Checkpoint
import Diagnostics
import Tokenizer
import Cluster
import Distribution
import Foundation
import MPIKit
import Model
import Pruning

/// `owlprune prune` end to end (issue 23 item 2): the output checked and locked, the set-up
/// (checkpoint, memory check, calibration windows), ATP's β search, the journal bound to the run,
/// depth removal, the job, the output with its effective recipe and pictures, and the evaluation
/// after pruning. The command line parses its flags into this value and renders what `run`
/// reports and returns; everything that depends on ranks happens here.
package struct PruneRun {
    package var model: String
    package var output: OutputOptions
    package var method: MethodOptions
    package var calibration: CalibrationOptions
    package var depth: DepthOptions
    package var memory: MemoryOptions
    package var evaluation: EvalAfterPruneOptions
    /// The recipe's per-block overrides (`overrides:`), already checked.
    package var overrides: SparsityOverrides
    package var threads: Int?
    package var split: WorkSplit?
    package var dtype: DType?
    package var maxShardSize: ByteSize?

    package init(model: String, output: OutputOptions, method: MethodOptions, calibration: CalibrationOptions,
                 depth: DepthOptions, memory: MemoryOptions, evaluation: EvalAfterPruneOptions,
                 overrides: SparsityOverrides, threads: Int?, split: WorkSplit?, dtype: DType?, maxShardSize: ByteSize?) {
        self.model = model
        self.output = output
        self.method = method
        self.calibration = calibration
        self.depth = depth
        self.memory = memory
        self.evaluation = evaluation
        self.overrides = overrides
        self.threads = threads
        self.split = split
        self.dtype = dtype
        self.maxShardSize = maxShardSize
    }

    /// The run a `RunRequest` asks for (flags and a recipe merged, or a recipe alone, or built by
    /// a program): the request's settings fill the same option groups the command line parses
    /// into, so a request and the equivalent flags are one run. The output and evaluation choices
    /// are not settings of the model a recipe describes, so they come beside it.
    package init(request r: RunRequest, output: OutputOptions, evaluation: EvalAfterPruneOptions,
                 overrides: SparsityOverrides = SparsityOverrides()) throws {
        var method = try MethodOptions.parse([])
        method.fill(from: r)
        var calibration = try CalibrationOptions.parse([])
        calibration.fill(from: r)
        var depth = try DepthOptions.parse([])
        depth.fill(from: r)
        var memory = try MemoryOptions.parse([])
        memory.maxMemory = r.maxMemory
        self.init(model: r.model ?? "", output: output, method: method, calibration: calibration, depth: depth, memory: memory,
                  evaluation: evaluation, overrides: overrides, threads: r.threads, split: r.split, dtype: r.dtype,
                  maxShardSize: r.maxShardSize)
    }

    /// What a finished run hands its caller on rank 0 (nil on the other ranks).
    package enum Outcome {
        /// A prune (with or without `--remove-by`): the summary line's or `--json`'s content.
        case pruned(PruneSummary)
        /// Blocks removed, nothing pruned (`--method shortgpt|sleb|streamline`).
        case depthOnly(DepthOutcome)
    }

    /// The settings in effect, as the report records them.
    package var request: RunRequest {
        RunRequest(model: model, method: method, calibration: calibration, depth: depth, split: split,
                   threads: threads, maxMemory: memory.maxMemory, dtype: dtype, maxShardSize: maxShardSize)
    }

    /// `--max-shard-size` in bytes.
    package var shardSizeBytes: Int { maxShardSize?.bytes ?? ShardPlan.defaultMaxShardSize }

    /// The removal step with this run's settings (`DepthRemovalStep`).
    package func removalStep(events: @escaping RunEvents) -> DepthRemovalStep {
        DepthRemovalStep(depth: depth, method: method.method, threads: threads, out: output.out, resume: output.resume,
                         force: output.force, events: events)
    }

    /// What the run reads, for the `--out` overlap checks.
    private var inputs: [(flag: String, url: URL)] {
        [("--model", URL(fileURLWithPath: model))]
            + [calibration.calib.map { ("--calib", URL(fileURLWithPath: $0)) },
               calibration.calibTokens.map { ("--calib-tokens", URL(fileURLWithPath: $0)) },
               evaluation.evalData.map { ("--eval", URL(fileURLWithPath: $0)) }].compactMap { $0 }
    }

    /// Runs on every rank of `comm`; events arrive on rank 0 only.
    package func run(comm: Communicator, events: @escaping RunEvents) throws -> Outcome? {
        // The evaluation text is read after the prune; a bad one (not UTF-8, a FIFO, missing)
        // must fail before the work, not after it (issue 26 item 4).
        if let eval = evaluation.evalData { _ = try readTextFile(URL(fileURLWithPath: eval)) }
        let say = reportingRank(of: comm, events)
        // The output is checked and locked before any file is read, so a bad --out costs nothing.
        let staged = try StagedDirectory(destination: URL(fileURLWithPath: output.out), force: output.force,
                                         runID: try PruneSetup.runID(comm: comm), inputs: inputs, lock: comm.rank == 0)
        let journal = BlockJournal.directory(forOutput: URL(fileURLWithPath: output.out))
        // Registered now, not when an error is caught: a signal stops the run from a safe point
        // deep inside the job (`StopSignal`), and the same cleanup must run then.
        Runtime.onFailure { staged.discard(); BlockJournal.binding.removeIfNothingFinished(journal) }
        Runtime.stopHint = { BlockJournal.binding.resumeHint(journal) }
        if DepthOptions.isDepthMethod(method.method) {
            return try runDepthOnly(comm: comm, staged: staged, events: say).map(Outcome.depthOnly)
        }
        // `--remove-by streamline --replacement layer` trains on windows sampled from the
        // text without its held-out tail, as `--method streamline` does; the prune then
        // calibrates on the same windows.
        let training = depth.removeBy == .streamline ? depth.training(method: method.method, seed: calibration.seed,
                                                                        windows: calibration.nsamples) : nil
        var setup = try PruneSetup(model: model, method: method, calibration: calibration, comm: comm,
                                   memory: memory, threads: threads, split: split, overrides: overrides,
                                   searchesATPBeta: true, holdOut: training?.heldoutWindows ?? 0, events: say)
        if method.atpAuto {
            try ATPBetaSearch(method: method, calibration: calibration, model: model, threads: threads, split: split,
                              scratch: URL(fileURLWithPath: output.out + ".atp-beta-search"), events: events).resolve(&setup)
        }
        if comm.rank == 0 {
            // Issue 10 item 4: the journal is bound to this run's settings and input before any work.
            for line in staged.removeStaleStaging() { say(.progress(line)) }
            let fingerprint = try RunFingerprint(configuration: setup.configuration, windows: setup.windows,
                                                 checkpoint: setup.checkpoint)
            for line in try BlockJournal.binding.bind(directory: journal, fingerprint: fingerprint, resume: output.resume,
                                                      force: output.force) {
                say(.progress(line))
            }
        }
        // --remove-by: blocks are removed first, scored on the dense model; the job prunes the reduced model.
        let removal = try removalStep(events: say).removeBeforePruning(setup: setup, training: training)
        let job = try setup.makeJob(threads: threads, split: split, removal: removal, training: training)
        let out = try PruneOutput(comm: comm, layout: job.layout, input: setup.checkpoint,
                                  staged: staged, arguments: try PruneArguments(request: request, model: model, out: output.out),
                                  dtype: dtype?.storage, renumbering: removal?.renumbering, blockRemoval: removal?.result,
                                  streamlineTraining: removal?.log, maxShardSize: shardSizeBytes,
                                  replacedTensors: removal?.source?.tensors ?? [:])
        // The staging directory exists before any statistics, as it always has: a stopped run leaves it.
        try out.begin()
        let agreed = try job.makePlan()
        say(.plan(agreed))
        PruneWarnings.of(plan: agreed).forEach { say(.warning($0)) }
        let recipe = Data(Recipe.render(model: model, method: method, calibration: calibration, split: split?.rawValue,
                                        threads: threads, overrides: overrides, dtype: dtype?.rawValue,
                                        maxShardSize: maxShardSize?.text, depth: depth).utf8)
        let streamlinePicture = removal.flatMap { r in
            r.result.run == nil ? nil : StreamlinePicture(result: r.result, training: r.log,
                                                          title: URL(fileURLWithPath: model).lastPathComponent).data
        }
        // After `bind` the journal holds only this configuration's blocks: always open it for reuse.
        // The journal's fingerprint does not hold a block removal: a depth run journals nothing.
        let (result, report) = try out.write(job, journalDirectory: removal == nil ? journal : nil, resume: true)
        let plan = result.plan
        // Rank 0 writes them into the staging directory before the rename, beside the report.
        try out.commit(files: report.map {
            var files = [PlanPicture.fileName: PlanPicture(plan: plan, report: $0).data, Recipe.fileName: recipe]
            files[StreamlinePicture.fileName] = streamlinePicture
            return files
        } ?? [:])
        // The output is in place: the streamline training journal has served.
        if training != nil && comm.rank == 0 {
            StreamlineJournal.remove(StreamlineJournal.directory(forOutput: URL(fileURLWithPath: output.out)))
        }
        report.map { PruneWarnings.of(report: $0).forEach { say(.warning($0)) } }
        let perplexity = try evaluation.evalData.map {
            try PruneEvaluation(comm: comm, dense: setup.checkpoint, prunedDirectory: output.out,
                                options: evaluation, events: say).run(data: $0)
        }
        return report.map {
            .pruned(PruneSummary(model: model, out: output.out, allocation: method.allocation.rawValue, plan: plan,
                                 report: $0, perplexity: perplexity, ranks: comm.size))
        }
    }
}
