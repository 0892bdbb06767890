import OwlPruneKit
import ArgumentParser
import Checkpoint
import Cluster
import Diagnostics
import Distribution
import Evaluation
import Foundation
import MPIKit
import Model
import Pruning
import Tensor
import Tokenizer

extension OwlPrune {
    /// `owlprune sweep`: a grid of prunes, each evaluated, as one job (issue 14; docs/sweep.md).
    ///
    /// Shared work is done once for the whole grid: the calibration windows, the tokenized
    /// evaluation text and, per kind of block score (OWL's outlier ratios for a given M, DLP's
    /// scores), one dense statistics pass over the whole world. Cells then run on groups of
    /// `--ranks-per-cell` ranks (`MPI_Comm_split`), dealt by estimated cost; a cell on a group of
    /// G ranks is the same computation as `owlprune prune` + `owlprune eval` on G ranks, which is
    /// bit-identical to any other rank count, so the sweep's numbers do not depend on R or G.
    struct Sweep: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prune and evaluate a grid of methods × allocations × sparsities; cells spread over the ranks.")

        @Option(help: "Hugging Face checkpoint directory.") var model: String
        @Option(help: "Sweep directory: sweep.json, sweep.csv, sweep.svg (and models/ with --keep-models).") var out: String
        @Option(help: "Methods, comma-separated (magnitude, wanda, sparsegpt, ria; shortgpt, sleb, streamline remove blocks only, one cell per --remove-blocks value).") var method: String?
        @Option(help: "Allocations, comma-separated (uniform, owl, atp, dlp, alpha).") var allocation: String?
        @Option(help: "Target sparsities, comma-separated, each in [0, 1).") var sparsity: String?
        @Option(name: .customLong("remove-blocks"), help: "Blocks to remove first, comma-separated (each a grid axis value K); pruning methods need --prune-option=--remove-by=shortgpt|sleb|streamline.")
        var removeBlocks: String?
        @Option(help: "A YAML grid (method, allocation, sparsity lists; options: prune flags). Flags given too override its lists.")
        var grid: String?
        @Option(parsing: .unconditionalSingleValue,
                help: "A prune flag every cell shares, repeatable, e.g. --prune-option=--owl-lambda=0.1 --prune-option=--dsnot.")
        var pruneOption: [String] = []
        @OptionGroup var calibration: CalibrationOptions
        @Option(help: "Evaluation text (tokenized once with the model's tokenizer).") var eval: String?
        @Option(name: .customLong("eval-tokens"), help: "Pre-tokenized evaluation stream: little-endian uint32 ids.")
        var evalTokens: String?
        @Option(name: .customLong("eval-seqlen"), help: "Evaluation window length (default: the calibration --seqlen).")
        var evalSeqlen: Int?
        @Option(name: .customLong("eval-windows"), help: "Evaluate only the first K windows.") var evalWindows: Int?
        @Flag(name: .customLong("eval-skip-dense"),
              help: "Evaluate only each cell's pruned model: perplexity without mean KLD and same top, in half the evaluation time.")
        var skipDense = false
        @Option(name: .customLong("ranks-per-cell"), help: "Ranks that run one cell together (must divide the rank count).")
        var ranksPerCell: Int = 1
        @Option(help: "Threads per rank for calibration windows (results do not depend on it).") var threads: Int?
        @Flag(name: .customLong("keep-models"), help: "Keep every pruned checkpoint under OUT/models/ (they are large).")
        var keepModels = false
        @Flag(help: "Keep the cells an interrupted sweep finished (OUT.partial/) and run only the rest.") var resume = false
        @Flag(help: "Replace an existing sweep directory (and discard an interrupted one).") var force = false
        @Flag(help: "Print sweep.json on stdout instead of the table.") var json = false
        @Option(name: .customLong("max-cells"), help: "Refuse a grid of more cells than this (a typo in a list can ask for days of work).")
        var maxCells: Int = 1000
        @OptionGroup var memory: MemoryOptions

        func validate() throws {
            try calibration.check()
            if grid == nil, method == nil || allocation == nil || sparsity == nil {
                throw ValidationError("give --method, --allocation and --sparsity lists, or --grid FILE.yaml")
            }
            guard (eval == nil) != (evalTokens == nil) else { throw ValidationError("give exactly one of --eval FILE or --eval-tokens FILE.ids") }
            if let s = evalSeqlen, s < 2 { throw ValidationError("--eval-seqlen \(s): a window needs at least 2 tokens") }
            if let k = evalWindows, k < 1 { throw ValidationError("--eval-windows \(k): must be at least 1") }
            guard ranksPerCell >= 1 else { throw ValidationError("--ranks-per-cell \(ranksPerCell): must be at least 1") }
            if let t = threads, t < 1 { throw ValidationError("--threads \(t): must be at least 1") }
            // The grid is read once; every cell is then checked as `prune` would check it.
            let g = try resolvedGrid()
            for cell in g.cells {
                _ = try g.methodOptions(for: cell)
                _ = try g.depthOptions(for: cell, calibrationText: calibration.calib != nil)
            }
            try g.checkDepthFlagsUsed(calibrationText: calibration.calib != nil)
        }

        func resolvedGrid() throws -> SweepGrid {
            var g = try grid.map(SweepGrid.read(file:)) ?? SweepGrid(methods: [], allocations: [], sparsities: [], options: [])
            if let m = method { g.methods = try SweepGrid.parseChoices(m, flag: "--method") }
            if let a = allocation { g.allocations = try SweepGrid.parseChoices(a, flag: "--allocation") }
            if let s = sparsity { g.sparsities = try SweepGrid.parseSparsities(s) }
            if let k = removeBlocks { g.removeBlocks = try SweepGrid.parseRemoveBlocks(k) }
            g.options += pruneOption.flatMap { option -> [String] in
                // `--owl-lambda=0.1` and `--owl-lambda 0.1` both name one flag and its value.
                let parts = option.split(separator: "=", maxSplits: 1).map(String.init)
                return parts.count == 2 && parts[0].hasPrefix("--") ? parts : option.split(separator: " ").map(String.init)
            }
            // Counted before the cells are built: three long lists would otherwise be multiplied
            // out in memory before anything could refuse them (issue 26 item 4).
            let (partialCount, o1) = g.methods.count.multipliedReportingOverflow(by: g.allocations.count)
            let (withK, o3) = partialCount.multipliedReportingOverflow(by: max(1, g.removeBlocks.count))
            let (count, o2) = withK.multipliedReportingOverflow(by: g.sparsities.count)
            if o1 || o2 || o3 || count > maxCells {
                throw ValidationError("sweep: the grid has \(o1 || o2 || o3 ? "more than \(Int.max)" : "\(count)") cells (\(g.methods.count) methods × \(g.allocations.count) allocations × \(g.sparsities.count) sparsities\(g.removeBlocks.isEmpty ? "" : " × \(g.removeBlocks.count) remove-blocks")), more than --max-cells \(maxCells); raise --max-cells to run it")
            }
            guard !g.cells.isEmpty else { throw ValidationError("the sweep grid has no cells") }
            try g.checkCells()
            return g
        }

        func run() throws {
            let world = try Runtime.communicator()
            setBLASThreads(1)
            let started = Date()
            let grid = try resolvedGrid()
            let cells = grid.cells
            guard world.size % ranksPerCell == 0 else {
                throw ValidationError("--ranks-per-cell \(ranksPerCell) does not divide the \(world.size) ranks")
            }
            let outURL = URL(fileURLWithPath: out)
            let staged = try StagedDirectory(destination: outURL, force: force, runID: try PruneSetup.runID(comm: world),
                                             inputs: inputs, lock: world.rank == 0)
            do {
                try runCells(world: world, grid: grid, cells: cells, staged: staged, started: started)
            } catch {
                Runtime.onFailure { staged.discard() }
                throw error
            }
        }

        private func runCells(world: Communicator, grid: SweepGrid, cells: [SweepCell], staged: StagedDirectory,
                              started: Date) throws {
            // --- shared work, once: windows, evaluation tokens, dense block scores ---
            var t = Date()
            let template = try grid.methodOptions(for: cells[0])
            let setup = try PruneSetup(model: model, method: template, calibration: calibration, comm: world, memory: memory,
                                       threads: threads)
            let calibrationSeconds = Date().timeIntervalSince(t)
            let architecture = setup.architecture
            let length = evalSeqlen ?? setup.windows.length
            t = Date()
            let tokens = try sharedEvalTokens(world: world, architecture: architecture)
            let evalTokenSeconds = Date().timeIntervalSince(t)
            let settings = try fingerprint(grid: grid, windowsHash: setup.windows.hash + "\u{1}" + RunFingerprint.inputIdentity(setup.checkpoint),
                                           evalLength: length, tokens: tokens)
            let partial = SweepJournal(directory: URL(fileURLWithPath: out + ".partial"), settings: settings)
            if world.rank == 0 { try partial.open(resume: resume, force: force, out: out) }
            try world.barrier()

            let configurations = try cells.map { try grid.methodOptions(for: $0).configuration(
                modelID: URL(fileURLWithPath: model).standardizedFileURL.lastPathComponent,
                seed: calibration.calib == nil ? nil : calibration.seed) }
            let done = partial.finishedCells()
            let pending = cells.indices.filter { done[cells[$0].id] == nil }
            var scores: [String: [Double]] = [:]
            var statisticsSeconds: [String: Double] = [:]
            // A cell that removes blocks first prunes a model known only after its removal: its
            // block scores and plan are made in the cell, on the reduced model, as `prune` does.
            for i in pending where cells[i].removeBlocks == nil {
                guard let key = configurations[i].blockScoreKey, scores[key] == nil else { continue }
                t = Date()
                progress("sweep: block scores \(key) computed once (a dense statistics pass, or the weights alone for AlphaPruning), shared by every cell that needs them")
                let planJob = try PruneJob(comm: world, configuration: configurations[i], source: setup.checkpoint,
                                           architecture: architecture, windows: setup.windows,
                                           threads: try PruneSetup.workerCount(threads: threads, propagation: configurations[i].propagation,
                                                                               split: nil, comm: world),
                                           progress: progress)
                scores[key] = try planJob.makePlan(planOnly: true).outlierRatios
                statisticsSeconds[key] = Date().timeIntervalSince(t)
            }

            // --- every pending cell's plan, before any cell prunes ---
            // A plan that cannot exist (an ε or λ that pushes a block to sparsity ≥ 1 at one of the
            // targets) would otherwise stop the sweep when its cell comes up, after hours of other
            // cells. With the block scores shared above, each plan is cheap: no forward runs here.
            for i in pending where cells[i].removeBlocks == nil {
                let planJob = try PruneJob(comm: world, configuration: configurations[i], source: setup.checkpoint,
                                           architecture: architecture, windows: setup.windows, threads: 1,
                                           precomputedBlockScores: configurations[i].blockScoreKey.flatMap { scores[$0] },
                                           progress: { _ in })
                do {
                    _ = try planJob.makePlan(planOnly: true)
                } catch {
                    // Nothing of this sweep exists yet to resume: leave no OUT.partial behind.
                    if done.isEmpty, world.rank == 0 { partial.remove() }
                    throw ValidationError("sweep cell \(cells[i].id): \(Runtime.describe(error)) (every plan is checked before the first cell prunes: nothing was pruned)")
                }
            }

            // --- cells, dealt to groups by cost ---
            let groups = world.size / ranksPerCell
            let color = world.rank / ranksPerCell
            let group = try world.split(color: color, key: world.rank)
            let dsnot = try grid.sharedOptions().dsnot
            let costs = try cells.map { cell in
                let depth = try grid.depthOptions(for: cell, calibrationText: calibration.calib != nil)
                let removal = depth.flatMap { d in
                    d.removeBy.map { by in
                        SweepDealer.Removal(method: by, trainingEpochs: d.training(method: cell.isDepthOnly ? .magnitude : cell.method,
                                                                                   seed: calibration.seed,
                                                                                   windows: calibration.nsamples)?.epochs)
                    }
                }
                return SweepDealer.cost(of: cell, dsnot: dsnot, calibrationTokens: setup.windows.tokens.count,
                                        evalTokens: min(tokens.count, (evalWindows ?? Int.max / length) * length),
                                        removal: removal, blocks: setup.architecture.blockCount)
            }
            let mine = SweepDealer.deal(costs: pending.map { costs[$0] }, groups: groups)[color].map { pending[$0] }
            if world.rank == 0 {
                progress("sweep: \(cells.count) cells (\(done.count) kept from an interrupted sweep), \(groups) group(s) of \(ranksPerCell) rank(s)")
            }
            // The group's remaining time, from the seconds per unit of cost its finished cells took.
            var spentSeconds = 0.0, spentCost = 0.0
            for (k, i) in mine.enumerated() {
                let result = try runCell(cells[i], grid: grid, configuration: configurations[i], group: group, color: color, setup: setup,
                                         scores: configurations[i].blockScoreKey.flatMap { scores[$0] }, tokens: tokens,
                                         length: length, partial: partial, settings: settings)
                if group.rank == 0 {
                    try partial.record(result)
                    FaultInjection.point("sweep: recorded \(cells[i].id)", rank: world.rank)
                    let distance = result.meanKLD.map { String(format: ", mean KLD %.6f, same top %.2f%%", $0, 100 * (result.sameTop ?? .nan)) } ?? ""
                    let line = String(format: "sweep: group %d cell %d/%d %@: perplexity %.4f%@, achieved %.4f (prune %.1f s, eval %.1f s)",
                                      color, k + 1, mine.count, cells[i].id, result.perplexity, distance,
                                      result.achievedSparsity, result.pruneSeconds, result.evalSeconds)
                    spentSeconds += result.pruneSeconds + result.evalSeconds
                    spentCost += costs[i]
                    let remaining = mine[(k + 1)...].reduce(0.0) { $0 + costs[$1] }
                    let eta = remaining > 0 && spentCost > 0 ? String(format: ", group ETA %.0f s", spentSeconds / spentCost * remaining) : ""
                    Console.error(line + eta + "\n")
                }
            }
            try group.free()
            try world.barrier()

            // --- results, by rank 0 ---
            guard world.rank == 0 else { try world.barrier(); return }
            let finished = partial.finishedCells()
            let results = try cells.map { cell -> SweepCellResult in
                guard let r = finished[cell.id] else { throw ClusterError.disagreement(what: "sweep cell \(cell.id) has no result") }
                return r
            }
            let uses = Dictionary(grouping: pending.compactMap { configurations[$0].blockScoreKey }, by: { $0 }).mapValues(\.count)
            let saved = Double(pending.count - 1) * (calibrationSeconds + evalTokenSeconds)
                + statisticsSeconds.reduce(0) { $0 + Double(max(0, (uses[$1.key] ?? 1) - 1)) * $1.value }
            let summary = SweepSummary(
                owlpruneVersion: PruneReport.toolVersion, model: model,
                calibration: calibration.calib ?? calibration.calibTokens ?? "", evaluation: eval ?? evalTokens ?? "",
                settings: settings, ranks: world.size, ranksPerCell: ranksPerCell,
                shared: .init(calibrationSeconds: calibrationSeconds, evaluationTokensSeconds: evalTokenSeconds,
                              statisticsSeconds: statisticsSeconds, savedSeconds: max(0, saved)),
                wallSeconds: Date().timeIntervalSince(started), cells: results,
                resumedCells: cells.filter { done[$0.id] != nil }.map(\.id))
            try staged.create()
            let json = try SweepSummary.encoder().encode(summary)
            try AtomicFile.write(json, to: staged.file("sweep.json"))
            try AtomicFile.write(Data(summary.csv.utf8), to: staged.file("sweep.csv"))
            try AtomicFile.write(Data(SweepPicture(summary: summary).svg.utf8), to: staged.file("sweep.svg"))
            if keepModels { try partial.moveModels(into: staged.file("models")) }
            try staged.commit()
            partial.remove()
            if self.json {
                printResult(String(decoding: json, as: UTF8.self))
            } else {
                progress(summary.table)
                printResult(String(format: "sweep %@: %d cells on %d ranks in %.1f s; shared work done once saved ~%.1f s",
                                   out, cells.count, world.size, summary.wallSeconds, summary.shared.savedSeconds))
            }
            try world.barrier()
        }

        /// One cell on its group: `prune` into a directory under OUT.partial/, then `eval` of that
        /// directory (the same code path as the two commands).
        private func runCell(_ cell: SweepCell, grid: SweepGrid, configuration: PruneConfiguration, group: Communicator, color: Int,
                             setup: PruneSetup, scores: [Double]?, tokens: [Int], length: Int,
                             partial: SweepJournal, settings: String) throws -> SweepCellResult {
            let t0 = Date()
            let destination = partial.modelDirectory(cell.id, kept: keepModels)
            let staged = try StagedDirectory(destination: destination, force: true,
                                             runID: try PruneSetup.runID(comm: group), lock: group.rank == 0)
            let arguments = try arguments(for: cell, grid: grid, out: destination.path)
            let job: PruneJob, output: PruneOutput
            var trainingJournal: URL?
            if let depth = try grid.depthOptions(for: cell, calibrationText: calibration.calib != nil) {
                // The removal on the cell's group, exactly as `prune --remove-by` runs it: the
                // windows drawn again (with `layer`, from the text without its held-out tail).
                let options = try grid.methodOptions(for: cell)
                let training = depth.training(method: options.method, seed: calibration.seed, windows: calibration.nsamples)
                let cellSetup = try PruneSetup(model: model, method: options, calibration: calibration, comm: group, threads: threads,
                                               holdOut: training?.heldoutWindows ?? 0)
                let step = DepthRemovalStep(depth: depth, method: options.method, threads: threads, out: destination.path,
                                            resume: false, force: true, events: CommandLineEvents.show)
                let removal = try step.removeBeforePruning(setup: cellSetup, training: training)!
                job = try cellSetup.makeJob(threads: threads, removal: removal, training: training)
                output = try PruneOutput(comm: group, layout: job.layout, input: setup.checkpoint, staged: staged, arguments: arguments,
                                         renumbering: removal.renumbering, blockRemoval: removal.result,
                                         streamlineTraining: removal.log, replacedTensors: removal.source?.tensors ?? [:])
                if training != nil { trainingJournal = StreamlineJournal.directory(forOutput: destination) }
            } else {
                let workers = try PruneSetup.workerCount(threads: threads, propagation: configuration.propagation, split: nil, comm: group)
                job = try PruneJob(comm: group, configuration: configuration, source: setup.checkpoint,
                                   architecture: setup.architecture, windows: setup.windows, threads: workers,
                                   precomputedBlockScores: scores, progress: color == 0 ? { progress($0) } : { _ in })
                output = try PruneOutput(comm: group, layout: job.layout, input: setup.checkpoint, staged: staged, arguments: arguments)
            }
            let (run, report) = try output.write(job)
            try output.commit()
            if let trainingJournal, group.rank == 0 { StreamlineJournal.remove(trainingJournal) }
            let plan = run.plan
            let pruneSeconds = Date().timeIntervalSince(t0)
            let t1 = Date()
            // The dense model runs beside the pruned one, window by window, so each cell also says how far
            // it moved from the dense model (mean KLD, same top); its log-probabilities are recomputed per
            // window, not cached across cells (docs/quality.md §3). The perplexity is `eval`'s, bit for bit.
            // `--eval-skip-dense`: the pruned model alone (a scaling study needs only perplexities).
            let pruned = try CheckpointDirectory(url: destination)
            let evaluation = PerplexityRun(comm: group, tokens: group.rank == 0 ? tokens : [], dataName: eval ?? evalTokens ?? "",
                                           seqlen: length, maxWindows: evalWindows)
            let both = skipDense ? nil : try evaluation.compare(base: setup.checkpoint, other: pruned, progress: { _ in })
            let result = try both?.other ?? evaluation.perplexity(of: pruned, progress: { _ in })
            let evalSeconds = Date().timeIntervalSince(t1)
            try group.barrier()
            if !keepModels, group.rank == 0 { try? FileManager.default.removeItem(at: destination) }
            return SweepCellResult(cell: cell, settings: settings, pattern: "\(configuration.pattern)",
                                   achievedSparsity: report?.achievedSparsity ?? 0, perplexity: result.perplexity,
                                   nllSum: result.nllSum, tokensScored: result.tokensScored, evalWindows: result.windows,
                                   pruneSeconds: pruneSeconds, evalSeconds: evalSeconds, ranks: group.size, group: color,
                                   plan: plan, model: keepModels ? "models/\(cell.id)" : nil,
                                   meanKLD: both?.statistics.kld.value, sameTop: both?.statistics.sameTop.value)
        }

        /// The evaluation stream on every rank (each group's first rank hands it to its evaluator).
        private func sharedEvalTokens(world: Communicator, architecture: Architecture) throws -> [Int] {
            var ids: [Int64] = []
            if world.rank == 0 {
                if let file = evalTokens {
                    ids = try readTokenIDs(URL(fileURLWithPath: file), vocabulary: architecture.vocabularySize).map(Int64.init)
                } else if let file = eval {
                    ids = try PerplexityRun.tokenize(file: file, tokenizerOf: URL(fileURLWithPath: model), comm: world).map(Int64.init)
                    progress("sweep: \(file) → \(ids.count) evaluation tokens, tokenized once for every cell")
                }
            }
            var count = [Int64(ids.count)]
            try world.broadcast(&count, root: 0)
            if world.rank != 0 { ids = [Int64](repeating: 0, count: Int(count[0])) }
            try world.broadcast(&ids, root: 0)
            return ids.map(Int.init)
        }

        /// Everything but the grid's lists that decides a cell's bits; a resumed sweep keeps only
        /// cells recorded under the same fingerprint.
        private func fingerprint(grid: SweepGrid, windowsHash: String, evalLength: Int, tokens: [Int]) throws -> String {
            var h = FNV1a()
            // `--eval-skip-dense` is a part only when given, so the fingerprints of earlier sweeps hold.
            for part in [model, windowsHash, grid.options.joined(separator: "\u{1}"), "\(evalLength)", "\(evalWindows ?? 0)",
                         "\(tokens.count)"] + (skipDense ? ["eval-skip-dense"] : []) {
                h.combine(bytes: part.utf8)
                h.combine(0)
            }
            // Each id as its 8 little-endian bytes.
            for t in tokens { for i in 0..<8 { h.combine(UInt8(truncatingIfNeeded: UInt64(t) >> (8 * UInt64(i)))) } }
            return h.hex
        }

        private var inputs: [(flag: String, url: URL)] {
            [("--model", URL(fileURLWithPath: model))]
                + [calibration.calib.map { ("--calib", URL(fileURLWithPath: $0)) },
                   calibration.calibTokens.map { ("--calib-tokens", URL(fileURLWithPath: $0)) },
                   eval.map { ("--eval", URL(fileURLWithPath: $0)) },
                   evalTokens.map { ("--eval-tokens", URL(fileURLWithPath: $0)) },
                   grid.map { ("--grid", URL(fileURLWithPath: $0)) }].compactMap { $0 }
        }

        /// The grid is passed in, not read again: once per cell would make set-up quadratic.
        private func arguments(for cell: SweepCell, grid: SweepGrid, out: String) throws -> PruneArguments {
            let options = try grid.methodOptions(for: cell)
            return try PruneArguments(request: RunRequest(model: model, method: options, calibration: calibration, threads: threads),
                                      model: model, out: out)
        }
    }
}
