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

            guard !ParseOnly.active else { return }
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
            let sweep = SweepRun(model: model, out: out, grid: try resolvedGrid(), gridFile: grid, calibration: calibration, eval: eval,
                                 evalTokens: evalTokens, evalSeqlen: evalSeqlen, evalWindows: evalWindows, skipDense: skipDense,
                                 ranksPerCell: ranksPerCell, threads: threads, keepModels: keepModels, resume: resume, force: force,
                                 memory: memory)
            guard let summary = try sweep.run(world: world, events: CommandLineEvents.show) else { return }
            if json {
                printResult(String(decoding: try SweepSummary.encoder().encode(summary), as: UTF8.self))
            } else {
                progress(summary.table)
                printResult(String(format: "sweep %@: %d cells on %d ranks in %.1f s; shared work done once saved ~%.1f s",
                                   out, summary.cells.count, world.size, summary.wallSeconds, summary.shared.savedSeconds))
            }
        }
    }
}
