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

/// `owlprune sweep` end to end (issue 14, issue 23 item 2; docs/sweep.md): a grid of prunes, each
/// evaluated, as one job.
///
/// Shared work is done once for the whole grid: the calibration windows, the tokenized
/// evaluation text and, per kind of block score (OWL's outlier ratios for a given M, DLP's
/// scores), one dense statistics pass over the whole world. Cells then run on groups of
/// `ranksPerCell` ranks (`MPI_Comm_split`), dealt by estimated cost; a cell on a group of
/// G ranks is the same computation as `owlprune prune` + `owlprune eval` on G ranks, which is
/// bit-identical to any other rank count, so the sweep's numbers do not depend on R or G.
/// The command line resolves the grid from its flags and renders the summary `run` returns.
package struct SweepRun {
    package var model: String
    package var out: String
    package var grid: SweepGrid
    /// `--grid FILE`, for the `--out` overlap checks.
    package var gridFile: String?
    package var calibration: CalibrationOptions
    package var eval: String?
    package var evalTokens: String?
    package var evalSeqlen: Int?
    package var evalWindows: Int?
    package var skipDense: Bool
    package var ranksPerCell: Int
    package var threads: Int?
    package var keepModels: Bool
    package var resume: Bool
    package var force: Bool
    package var memory: MemoryOptions

    package init(model: String, out: String, grid: SweepGrid, gridFile: String?, calibration: CalibrationOptions, eval: String?,
                 evalTokens: String?, evalSeqlen: Int?, evalWindows: Int?, skipDense: Bool, ranksPerCell: Int, threads: Int?,
                 keepModels: Bool, resume: Bool, force: Bool, memory: MemoryOptions) {
        self.model = model
        self.out = out
        self.grid = grid
        self.gridFile = gridFile
        self.calibration = calibration
        self.eval = eval
        self.evalTokens = evalTokens
        self.evalSeqlen = evalSeqlen
        self.evalWindows = evalWindows
        self.skipDense = skipDense
        self.ranksPerCell = ranksPerCell
        self.threads = threads
        self.keepModels = keepModels
        self.resume = resume
        self.force = force
        self.memory = memory
    }

    /// Runs the grid on every rank of `world`; rank 0 returns the summary (written as sweep.json,
    /// sweep.csv and sweep.svg), the other ranks nil. Events come from rank 0, except
    /// `.groupProgress`, which each group's first rank sends.
    package func run(world: Communicator, events: @escaping RunEvents) throws -> SweepSummary? {
        let say = reportingRank(of: world, events)
        let started = Date()
        let cells = grid.cells
        guard world.size % ranksPerCell == 0 else {
            throw ValidationError("--ranks-per-cell \(ranksPerCell) does not divide the \(world.size) ranks")
        }
        let outURL = URL(fileURLWithPath: out)
        let staged = try StagedDirectory(destination: outURL, force: force, runID: try PruneSetup.runID(comm: world),
                                         inputs: inputs, lock: world.rank == 0)
        do {
            return try runCells(world: world, cells: cells, staged: staged, started: started, events: events, say: say)
        } catch {
            Runtime.onFailure { staged.discard() }
            throw error
        }
    }

    private func runCells(world: Communicator, cells: [SweepCell], staged: StagedDirectory,
                          started: Date, events: @escaping RunEvents, say: @escaping RunEvents) throws -> SweepSummary? {
        // --- shared work, once: windows, evaluation tokens, dense block scores ---
        var t = Date()
        let template = try grid.methodOptions(for: cells[0])
        let setup = try PruneSetup(model: model, method: template, calibration: calibration, comm: world, memory: memory,
                                   threads: threads, events: say)
        let calibrationSeconds = Date().timeIntervalSince(t)
        let architecture = setup.architecture
        let length = evalSeqlen ?? setup.windows.length
        t = Date()
        let tokens = try sharedEvalTokens(world: world, architecture: architecture, events: say)
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
            say(.progress("sweep: block scores \(key) computed once (a dense statistics pass, or the weights alone for AlphaPruning), shared by every cell that needs them"))
            let planJob = try PruneJob(comm: world, configuration: configurations[i], source: setup.checkpoint,
                                       architecture: architecture, windows: setup.windows,
                                       threads: try PruneSetup.workerCount(threads: threads, propagation: configurations[i].propagation,
                                                                           split: nil, comm: world),
                                       progress: { say(.progress($0)) })
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
        say(.progress("sweep: \(cells.count) cells (\(done.count) kept from an interrupted sweep), \(groups) group(s) of \(ranksPerCell) rank(s)"))
        // The group's remaining time, from the seconds per unit of cost its finished cells took.
        var spentSeconds = 0.0, spentCost = 0.0
        for (k, i) in mine.enumerated() {
            let result = try runCell(cells[i], grid: grid, configuration: configurations[i], group: group, color: color, setup: setup,
                                     scores: configurations[i].blockScoreKey.flatMap { scores[$0] }, tokens: tokens,
                                     length: length, partial: partial, settings: settings, events: say)
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
                events(.groupProgress(line + eta))
            }
        }
        try group.free()
        try world.barrier()

        // --- results, by rank 0 ---
        guard world.rank == 0 else { try world.barrier(); return nil }
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
        try world.barrier()
        return summary
    }

    /// One cell on its group: `prune` into a directory under OUT.partial/, then `eval` of that
    /// directory (the same code path as the two commands).
    private func runCell(_ cell: SweepCell, grid: SweepGrid, configuration: PruneConfiguration, group: Communicator, color: Int,
                         setup: PruneSetup, scores: [Double]?, tokens: [Int], length: Int,
                         partial: SweepJournal, settings: String, events: @escaping RunEvents) throws -> SweepCellResult {
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
                                           holdOut: training?.heldoutWindows ?? 0,
                                           events: color == 0 ? events : { _ in })
            let step = DepthRemovalStep(depth: depth, method: options.method, threads: threads, out: destination.path,
                                        resume: false, force: true, events: color == 0 ? events : { _ in })
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
                               precomputedBlockScores: scores, progress: color == 0 ? { events(.progress($0)) } : { _ in })
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
    private func sharedEvalTokens(world: Communicator, architecture: Architecture, events: RunEvents) throws -> [Int] {
        var ids: [Int64] = []
        if world.rank == 0 {
            if let file = evalTokens {
                ids = try readTokenIDs(URL(fileURLWithPath: file), vocabulary: architecture.vocabularySize).map(Int64.init)
            } else if let file = eval {
                ids = try PerplexityRun.tokenize(file: file, tokenizerOf: URL(fileURLWithPath: model), comm: world).map(Int64.init)
                events(.progress("sweep: \(file) → \(ids.count) evaluation tokens, tokenized once for every cell"))
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
               gridFile.map { ("--grid", URL(fileURLWithPath: $0)) }].compactMap { $0 }
    }

    /// The grid is passed in, not read again: once per cell would make set-up quadratic.
    private func arguments(for cell: SweepCell, grid: SweepGrid, out: String) throws -> PruneArguments {
        let options = try grid.methodOptions(for: cell)
        return try PruneArguments(request: RunRequest(model: model, method: options, calibration: calibration, threads: threads),
                                  model: model, out: out)
    }
}
