import OwlPruneKit
import ArgumentParser
import Checkpoint
import Cluster
import Diagnostics
import Distribution
import Foundation
import MPIKit
import Model
import Pruning
import Tensor
import Tokenizer

extension OwlPrune {
    /// `owlprune prune`: the product. One-shot pruning, blocks sharded over the MPI ranks, one
    /// agreed layerwise plan (shown before phase 2), a Hugging Face directory out that appears
    /// only when complete, carrying the effective recipe that made it.
    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prune a checkpoint across MPI ranks (magnitude, Wanda, SparseGPT, RIA; uniform, OWL, ATP, DLP).",
            discussion: "Algorithms: docs/algorithms.md. Recipes: docs/recipes.md. Distributed protocol: docs/design.md.")

        @OptionGroup(title: "Model") var model: ModelOptions
        @OptionGroup(title: "Output") var output: OutputOptions
        @OptionGroup(title: "Recipe") var recipe: RecipeOptions
        @Option(name: [.short, .long], help: "Threads per rank for independent calibration windows (default: the node's cores in sequential propagation, where ranks take turns; cores / ranks on the node in dense). Results do not depend on it.")
        var threads: Int?
        @Option(help: "windows: every rank on every block, each on its share of the calibration windows; blocks: each rank its own blocks, windows streamed rank to rank. Default: windows for sequential propagation, blocks for dense. Results do not depend on it.")
        var split: WorkSplit?
        @Option(help: "Dtype of the written weights: f32, bf16 or f16 (default: each tensor's dtype in the input).")
        var dtype: DType?
        @Option(name: .customLong("max-shard-size"),
                help: ArgumentHelp("Largest weight file, as transformers' max_shard_size: \(ByteSize.helpConvention). Beyond it the weights are split into model-00001-of-0000N.safetensors with model.safetensors.index.json. Default 5GB. Names and bytes do not depend on the rank count.",
                                   valueName: "size"),
                transform: ByteSize.argument)
        var maxShardSize: ByteSize?
        @OptionGroup(title: "Method") var method: MethodOptions
        @OptionGroup(title: "Calibration") var calibration: CalibrationOptions
        @OptionGroup(title: "Depth pruning") var depth: DepthOptions
        @OptionGroup var memory: MemoryOptions
        @OptionGroup(title: "Evaluation after pruning") var evaluation: EvalAfterPruneOptions
        @Flag(name: .customLong("dry-run"), help: "Print the plan and the time and memory estimate per rank, then stop (nothing is written).")
        var dryRun = false
        @Flag(help: "Print one JSON object on stdout (progress and logs stay on stderr).")
        var json = false

        /// The command with its recipe's settings wherever no flag was typed (issue 23 item 1):
        /// the typed flags and the recipe fill one `RunRequest`'s settings, a typed one winning.
        func withRecipe() throws -> Prune {
            var p = self
            let r = try recipe.load().request
            p.model.givenModel = p.model.givenModel ?? r.model
            p.method.fill(from: r)
            p.calibration.fill(from: r)
            p.depth.fill(from: r)
            p.threads = p.threads ?? r.threads
            p.split = p.split ?? r.split
            p.memory.maxMemory = p.memory.maxMemory ?? r.maxMemory
            p.dtype = p.dtype ?? r.dtype
            p.maxShardSize = p.maxShardSize ?? r.maxShardSize
            return p
        }

        /// ArgumentParser's check runs on the flags and the recipe merged (`check`).
        func validate() throws { try withRecipe().check() }

        func check() throws {
            try model.check()
            try method.check()
            try calibration.check()
            if let t = threads, t < 1 { throw ValidationError("--threads \(t): must be at least 1") }
            try depth.validate(method: method.method)
            try validateDepthOnly()
            try validateRemoveByStreamline()
        }

        func run() throws { try withRecipe().execute() }

        private func execute() throws {
            let comm = try Runtime.communicator()
            setBLASThreads(1)
            let overrides = try recipe.overrides()
            // The evaluation text is read after the prune; a bad one (not UTF-8, a FIFO, missing)
            // must fail before the work, not after it (issue 26 item 4).
            if let eval = evaluation.evalData { _ = try readTextFile(URL(fileURLWithPath: eval)) }
            if dryRun {
                // Depth pruning (issue 24 item 4): the depth pass's estimate; with --remove-by,
                // then the pruning's, on every block of the input (an upper bound: the reduced
                // model's blocks are chosen by the scoring the dry run does not run).
                var depthEstimate: DepthEstimate?
                if depth.removal(method: method.method) != nil {
                    depthEstimate = try depthDryRun(comm: comm)
                    if DepthOptions.isDepthMethod(method.method) {
                        if let e = depthEstimate { printResult(json ? try Self.json(e) : Self.render(e)) }
                        return
                    }
                }
                // Memory is reported, not refused: finding that out is what a dry run is for.
                let setup = try PruneSetup(model: model.model, method: method, calibration: calibration, comm: comm,
                                           threads: threads, split: split, overrides: overrides)
                if let result = try DryRun(setup: setup, threads: threads, split: split).run(memory: memory) {
                    if let e = depthEstimate {
                        struct Both: Encodable { var depth: DepthEstimate; var plan: SparsityPlan; var estimate: DryRun.Estimate }
                        printResult(json ? try Self.json(Both(depth: e, plan: result.plan, estimate: result.estimate))
                                    : Self.render(e) + "\nthen the pruning (estimated on all blocks of the input, an upper bound):\n"
                                        + DryRun.render(result.estimate))
                    } else {
                        printResult(json ? try DryRun.json(result) : DryRun.render(result.estimate))
                    }
                }
                return
            }
            // The output is checked and locked before any file is read, so a bad --out costs nothing.
            let staged = try StagedDirectory(destination: URL(fileURLWithPath: output.out), force: output.force,
                                             runID: try PruneSetup.runID(comm: comm), inputs: inputs, lock: comm.rank == 0)
            let journal = BlockJournal.directory(forOutput: URL(fileURLWithPath: output.out))
            // Registered now, not when an error is caught: a signal stops the run from a safe point
            // deep inside the job (`StopSignal`), and the same cleanup must run then.
            Runtime.onFailure { staged.discard(); BlockJournal.binding.removeIfNothingFinished(journal) }
            Runtime.stopHint = { BlockJournal.binding.resumeHint(journal) }
            do {
                if DepthOptions.isDepthMethod(method.method) {
                    try runDepthOnly(comm: comm, staged: staged)
                    return
                }
                // `--remove-by streamline --replacement layer` trains on windows sampled from the
                // text without its held-out tail, as `--method streamline` does; the prune then
                // calibrates on the same windows.
                let training = depth.removeBy == .streamline ? depth.training(method: method.method, seed: calibration.seed,
                                                                                windows: calibration.nsamples) : nil
                var setup = try PruneSetup(model: model.model, method: method, calibration: calibration, comm: comm,
                                           memory: memory, threads: threads, split: split, overrides: overrides,
                                           searchesATPBeta: true, holdOut: training?.heldoutWindows ?? 0)
                if method.atpAuto {
                    try ATPBetaSearch(method: method, calibration: calibration, model: model.model, threads: threads, split: split,
                                      scratch: URL(fileURLWithPath: output.out + ".atp-beta-search")).resolve(&setup)
                }
                if comm.rank == 0 {
                    // Issue 10 item 4: the journal is bound to this run's settings and input before any work.
                    for line in staged.removeStaleStaging() { progress(line) }
                    let fingerprint = try RunFingerprint(configuration: setup.configuration, windows: setup.windows,
                                                         checkpoint: setup.checkpoint)
                    for line in try BlockJournal.binding.bind(directory: journal, fingerprint: fingerprint, resume: output.resume,
                                                              force: output.force) {
                        progress(line)
                    }
                }
                // --remove-by: blocks are removed first, scored on the dense model; the job prunes the reduced model.
                let removal = try removalStep.removeBeforePruning(setup: setup, training: training)
                let job = try setup.makeJob(threads: threads, split: split, removal: removal, training: training)
                let out = try PruneOutput(comm: comm, layout: job.layout, input: setup.checkpoint,
                                          staged: staged, arguments: try arguments, dtype: dtype?.storage,
                                          renumbering: removal?.renumbering, blockRemoval: removal?.result,
                                          streamlineTraining: removal?.log, maxShardSize: shardSizeBytes,
                                          replacedTensors: removal?.source?.tensors ?? [:])
                // The staging directory exists before any statistics, as it always has: a stopped run leaves it.
                try out.begin()
                let agreed = try job.makePlan()
                if comm.rank == 0 {
                    progress(PlanTable(plan: agreed).render())
                    PruneWarnings.of(plan: agreed).forEach(progress)
                }
                let recipe = Data(Recipe.render(model: model.model, method: method, calibration: calibration, split: split?.rawValue,
                                                threads: threads, overrides: overrides, dtype: dtype?.rawValue,
                                                maxShardSize: maxShardSize?.text, depth: depth).utf8)
                let streamlinePicture = removal.flatMap { r in
                    r.result.run == nil ? nil : StreamlinePicture(result: r.result, training: r.log,
                                                                  title: URL(fileURLWithPath: model.model).lastPathComponent).data
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
                report.map { PruneWarnings.of(report: $0).forEach(progress) }
                let perplexity = try evaluation.evalData.map {
                    try PruneEvaluation(comm: comm, dense: setup.checkpoint, prunedDirectory: output.out,
                                        options: evaluation).run(data: $0)
                }
                if let report {
                    try PruneSummary(model: model.model, out: output.out, allocation: method.allocation.rawValue, plan: plan,
                                     report: report, perplexity: perplexity, ranks: comm.size).print(json: json)
                }
            }
        }

        /// `--max-shard-size` in bytes.
        var shardSizeBytes: Int { maxShardSize?.bytes ?? ShardPlan.defaultMaxShardSize }


        /// What the run reads, for the `--out` overlap checks.
        private var inputs: [(flag: String, url: URL)] {
            [("--model", URL(fileURLWithPath: model.model))]
                + [calibration.calib.map { ("--calib", URL(fileURLWithPath: $0)) },
                   calibration.calibTokens.map { ("--calib-tokens", URL(fileURLWithPath: $0)) },
                   evaluation.evalData.map { ("--eval", URL(fileURLWithPath: $0)) }].compactMap { $0 }
        }

        /// The run request as the report records it.
        private var arguments: PruneArguments {
            get throws { try PruneArguments(request: request, model: model.model, out: output.out) }
        }
    }
}

extension OwlPrune.Prune {
    /// The settings in effect (typed, from the recipe, or the default), as one request: every
    /// field the option groups hold. Unset optional settings stay nil.
    var request: RunRequest {
        RunRequest(model: model.givenModel, method: method, calibration: calibration, depth: depth, split: split,
                   threads: threads, maxMemory: memory.maxMemory, dtype: dtype, maxShardSize: maxShardSize)
    }
}
