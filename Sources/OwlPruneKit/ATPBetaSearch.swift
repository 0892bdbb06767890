import ArgumentParser
import Checkpoint
import Cluster
import Distribution
import Evaluation
import Diagnostics
import Foundation
import MPIKit
import Pruning

/// `--allocation atp --atp-beta auto` (issue 12 item 5; docs/algorithms.md §8.3).
///
/// Each grid point is a full prune at that β into a scratch directory, then the held-out NLL of
/// the pruned model with the perplexity protocol of §11; the point with the lowest NLL sum wins
/// (equal sums: the smaller β). The points are spread over groups of ranks with
/// `MPI_Comm_split` and the LPT dealing of `owlprune sweep` (`SweepDealer`); a point on a group of
/// G ranks is the same computation as on any other G, so the grid and the choice do not depend on
/// the rank count. ATP reads no block scores, so besides the windows and the held-out tokens
/// (drawn once) the points share nothing: under sequential propagation every block's statistics
/// depend on the pruned blocks before it, hence on β.
package struct ATPBetaSearch {
    package let method: MethodOptions
    package let calibration: CalibrationOptions
    package let model: String
    package let threads: Int?
    package let split: WorkSplit?
    /// Sibling of `--out` (`OUT.atp-beta-search/`), removed when the search ends.
    package let scratch: URL

    /// The search's lines: rank 0's as `.progress`, each group's result as `.groupProgress` from its first rank.
    package let events: RunEvents

    package init(method: MethodOptions, calibration: CalibrationOptions, model: String, threads: Int?, split: WorkSplit?, scratch: URL,
                 events: @escaping RunEvents) {
        self.events = events
        self.method = method
        self.calibration = calibration
        self.model = model
        self.threads = threads
        self.split = split
        self.scratch = scratch
    }

    /// Cuts the held-out tail off the calibration token stream: the last `windows × length` tokens
    /// are scored, the rest is what the sampler draws the calibration windows from, so no
    /// calibration window overlaps the held-out slice.
    package static func cutHeldout(stream: [Int], windows: Int, length: Int, nsamples: Int,
                           file: String, flag: String = "--atp-heldout-windows") throws -> (sampled: [Int], heldout: [Int]) {
        let (held, overflow) = windows.multipliedReportingOverflow(by: length)
        guard !overflow, stream.count - held >= length else {
            throw ValidationError("--calib \(file): \(stream.count) tokens leave no room for \(windows) held-out windows of \(length) tokens (\(flag)) plus one calibration window")
        }
        return (Array(stream[..<(stream.count - held)]), Array(stream[(stream.count - held)...]))
    }

    /// Groups of ranks for `points` grid points: the largest divisor of the rank count that is at
    /// most `points`, so every group has the same size and no rank idles while another works alone.
    package static func groupCount(ranks: Int, points: Int) -> Int {
        (1...max(1, min(ranks, points))).last { ranks % $0 == 0 } ?? 1
    }

    /// Runs the grid and replaces `setup.configuration`'s β with the chosen one.
    package func resolve(_ setup: inout PruneSetup) throws {
        let world = setup.comm
        let base = setup.configuration
        let betas = try ATPBetaGrid.betas(blocks: setup.architecture.blockCount, target: base.sparsity,
                                          points: method.atpGridPoints)
        let groups = Self.groupCount(ranks: world.size, points: betas.count)
        let perGroup = world.size / groups
        let color = world.rank / perGroup
        let group = try world.split(color: color, key: world.rank)
        let mine = SweepDealer.deal(costs: [Double](repeating: 1, count: betas.count), groups: groups)[color]
        if world.rank == 0 {
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            events(.progress(String(format: "atp: β auto — %d grid points over (0, %.6g], %d held-out windows of %d tokens, %d group(s) of %d rank(s)",
                            betas.count, ATPBetaGrid.maxBeta(blocks: setup.architecture.blockCount, target: base.sparsity),
                            method.atpHeldoutWindows, setup.windows.length, groups, perGroup)))
        }
        try world.barrier()
        // Each point's numbers are filled by its group's first rank, zeros elsewhere: the sums are exact.
        var nll = [Double](repeating: 0, count: betas.count)
        var perplexity = [Double](repeating: 0, count: betas.count)
        for i in mine {
            var c = base
            c.allocation = .atp(beta: betas[i])
            let result = try point(i, configuration: c, group: group, setup: setup)
            if group.rank == 0 {
                nll[i] = result.nllSum
                perplexity[i] = result.perplexity
                events(.groupProgress(String(format: "atp: group %d β %.6g → held-out perplexity %.4f",
                                             color, betas[i], result.perplexity)))
            }
        }
        try group.free()
        nll = try world.allreduceSum(nll)
        perplexity = try world.allreduceSum(perplexity)
        try world.barrier()
        if world.rank == 0 { try? FileManager.default.removeItem(at: scratch) }
        let grid = try ATPBetaGrid(heldoutTokens: setup.heldout.count, heldoutWindows: method.atpHeldoutWindows,
                                   requestedPoints: method.atpGridPoints,
                                   points: betas.indices.map { .init(beta: betas[$0], nllSum: nll[$0], perplexity: perplexity[$0]) })
        if world.rank == 0 { events(.progress(String(format: "atp: chose β = %.6g (lowest held-out NLL)", grid.chosen))) }
        setup.configuration.allocation = .atp(beta: grid.chosen)
        setup.configuration.atpBetaGrid = grid
    }

    /// One grid point on `group`: `prune` into the scratch directory, then `eval` of it on the
    /// held-out tokens (the code paths of the two commands, as `owlprune sweep` cells).
    private func point(_ i: Int, configuration: PruneConfiguration, group: Communicator,
                       setup: PruneSetup) throws -> PerplexityResult {
        let destination = scratch.appendingPathComponent("beta-\(i)")
        let staged = try StagedDirectory(destination: destination, force: true, runID: try PruneSetup.runID(comm: group),
                                         lock: group.rank == 0)
        let workers = try PruneSetup.workerCount(threads: threads, propagation: configuration.propagation, split: split, comm: group)
        let job = try PruneJob(comm: group, configuration: configuration, source: setup.checkpoint, architecture: setup.architecture,
                               windows: setup.windows, threads: workers, split: split, progress: { _ in })
        var arguments = try PruneArguments(request: RunRequest(model: model, method: method, calibration: calibration,
                                                               split: split, threads: threads),
                                           model: model, out: destination.path)
        arguments.atpBeta = configuration.allocation.atpBeta
        let output = try PruneOutput(comm: group, layout: job.layout, input: setup.checkpoint, staged: staged, arguments: arguments)
        try output.write(job)
        try output.commit()
        try group.barrier()
        let result = try PerplexityRun(comm: group, tokens: group.rank == 0 ? setup.heldout : [], dataName: "the held-out tail of --calib",
                                       seqlen: setup.windows.length, maxWindows: nil)
            .perplexity(of: try CheckpointDirectory(url: destination), progress: { _ in })
        try group.barrier()
        if group.rank == 0 { try? FileManager.default.removeItem(at: destination) }
        return result
    }
}

extension Allocation {
    package var atpBeta: Double? {
        if case let .atp(beta) = self { return beta }
        return nil
    }
}
