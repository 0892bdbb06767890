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
        func validate() throws {
            guard !ParseOnly.active else { return }
            try withRecipe().check()
        }

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
            if dryRun {
                // A bad evaluation text fails a dry run too, as it would fail the run (`PruneRun`).
                if let eval = evaluation.evalData { _ = try readTextFile(URL(fileURLWithPath: eval)) }
                // Depth pruning (issue 24 item 4): the depth pass's estimate; with --remove-by,
                // then the pruning's, on every block of the input (an upper bound: the reduced
                // model's blocks are chosen by the scoring the dry run does not run).
                var depthEstimate: DepthEstimate?
                if depth.removal(method: method.method) != nil {
                    depthEstimate = try pruneRun(overrides: overrides).depthEstimate(comm: comm, events: CommandLineEvents.show)
                    if DepthOptions.isDepthMethod(method.method) {
                        if let e = depthEstimate { printResult(json ? try Self.json(e) : Self.render(e)) }
                        return
                    }
                }
                // Memory is reported, not refused: finding that out is what a dry run is for.
                let setup = try PruneSetup(model: model.model, method: method, calibration: calibration, comm: comm,
                                           threads: threads, split: split, overrides: overrides, events: CommandLineEvents.show)
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
            switch try pruneRun(overrides: overrides).run(comm: comm, events: CommandLineEvents.show) {
            case .pruned(let summary): try summary.print(json: json)
            case .depthOnly(let outcome): try render(outcome)
            case nil: break
            }
        }

        /// The run these flags (merged with the recipe) ask for: the command's `RunRequest`, the
        /// output and evaluation choices beside it (`OwlPruneKit`); the command only parses and renders.
        func pruneRun(overrides: SparsityOverrides) throws -> PruneRun {
            try PruneRun(request: request, output: output, evaluation: evaluation, overrides: overrides)
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
