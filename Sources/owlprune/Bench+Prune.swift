import OwlPruneKit
import ArgumentParser
import Checkpoint
import Cluster
import Foundation
import MPIKit
import Model
import Pruning
import Tensor

extension OwlPrune.Bench {
    /// Whole prune runs (load, calibrate, prune, write) for Wanda and SparseGPT, timed per phase.
    /// Defaults are the small protocol of docs/algorithms.md §2 and §11 (16 windows of 512).
    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Time per phase of Wanda and SparseGPT pruning.")

        @Option(help: "Checkpoint directory.") var model: String
        @Option(help: "Calibration text.") var calib: String
        @Option(help: "Calibration windows.") var nsamples: Int = 16
        @Option(help: "Window length.") var seqlen: Int = 512
        @Option(help: "Methods to time, comma separated (wanda, sparsegpt, owl-wanda = Wanda with --allocation owl; none: only --kernels).") var methods: String = "wanda,sparsegpt"

        /// One entry of `--methods`.
        enum TimedMethod: String, CaseIterable {
            case magnitude, wanda, sparsegpt, ria, owlWanda = "owl-wanda", none
        }

        func validate() throws {

            guard !ParseOnly.active else { return }
            _ = try methodList()
            _ = try widthList()
            if let threads, threads < 1 { throw ValidationError("--threads: \(threads) is not a positive count") }
        }

        func methodList() throws -> [TimedMethod] { try SweepGrid.parseChoices(methods, flag: "--methods") }

        func widthList() throws -> [Int] {
            try SweepGrid.parseList(kernelWidths, flag: "--kernel-widths").map { part -> Int in
                guard let w = Int(part), w > 0 else { throw ValidationError("--kernel-widths: '\(part)' is not a positive width") }
                return w
            }
        }
        @Option(help: "Target sparsity.") var sparsity: Double = 0.5
        @Option(help: "Worker threads per rank, as prune's --threads (default: the cores over the ranks on this node).")
        var threads: Int?
        @Flag(help: "Print one JSON object {runs: [...]} on stdout.") var json = false
        @Flag(help: "Also time the statistics and SparseGPT kernels against sgemm (rank 0).") var kernels = false
        @Flag(help: "Also split every rank's whole command into start-up, read, tokenize, forwards + terms, selection + solver, sharing, journal, write and finish, beside the FLOP floor.")
        var breakdown = false
        @Option(help: "Input widths for --kernels, comma separated.") var kernelWidths: String = "576,1536"
        @Option(help: "Weight rows for --kernels' SparseGPT runs.") var kernelRows: Int = 576

        func run() throws {
            let comm = try Runtime.communicator()
            setBLASThreads(1)
            let bench = PruneBench(model: model, calib: calib, nsamples: nsamples, seqlen: seqlen, sparsity: sparsity,
                                   methods: try methodList().map(\.rawValue), breakdown: breakdown, threads: threads)
            guard let measurements = try bench.run(comm: comm, events: CommandLineEvents.show) else { return }
            var runs: [[String: Any]] = []
            for m in measurements {
                let t = m.times
                let calibrationTokens = Double(nsamples * seqlen)
                runs.append(["method": m.method, "sparsity": sparsity, "nsamples": nsamples, "seqlen": seqlen,
                             "total_seconds": m.total, "tokenize_seconds": m.tokenize, "load_seconds": t.load,
                             "statistics_seconds": t.statistics, "plan_seconds": t.plan, "prune_seconds": t.prune,
                             "write_seconds": t.write, "calibration_tokens_per_second": calibrationTokens / (t.statistics + t.prune)])
                let floor = Self.flopFloor(m.job, owl: m.options.allocation == .owl, options: m.options)
                let rate = Self.sgemmRate(threads: m.job.threads, rows: seqlen, shape: m.job.architecture.shape)
                // SparseGPT's solver comes on top of the floor at its kernels' measured rates (issue 29).
                let c = m.job.configuration
                let solver = c.method == .sparsegpt && c.options.dsnot == nil && c.options.admm == nil
                    ? try PruneKernelBench.solverSeconds(shape: m.job.architecture.shape, blocks: m.blocks, threads: m.job.threads,
                                                         blocksize: c.options.blocksize) : 0
                let floorSeconds = floor / rate + solver
                if json {
                    runs[runs.count - 1]["floor_flops"] = floor
                    runs[runs.count - 1]["sgemm_flops_per_second"] = rate
                    runs[runs.count - 1]["solver_floor_seconds"] = solver
                    runs[runs.count - 1]["floor_seconds"] = floorSeconds
                    if let ranks = m.ranks { runs[runs.count - 1]["breakdown"] = PruneBreakdown.json(ranks, floorSeconds: floorSeconds) }
                    continue
                }
                let solverText = solver > 0 ? String(format: """
                    ; SparseGPT's solver at the rates its kernels reach now (f64 factor per input, column loop per linear, \
                    spread over %d thread(s)) adds %.1f s: floor %.1f s
                    """, m.job.threads, solver, floorSeconds) : ""
                printResult(String(format: """
                    %@ %.0f%%, %d×%d calibration tokens, %d rank(s): total %.1f s
                      tokenize+sample %.2f s | load %.2f s | statistics %.2f s | plan %.3f s | prune (incl. sequential calibration) %.2f s | write %.2f s
                      calibration throughput %.0f tokens/s through all %d blocks (two block passes per token: dense statistics, pruned propagation)
                      FLOP floor: %.2f TFLOP of forwards and statistic terms; at sgemm's rate measured now (%.0f GFLOP/s over %d thread(s)) \
                    that is %.1f s%@, so this whole command took %.2f× the floor
                    """, m.method, sparsity * 100, nsamples, seqlen, comm.size, m.total, m.tokenize, t.load, t.statistics, t.plan,
                    t.prune, t.write, calibrationTokens / (t.statistics + t.prune), m.blocks,
                    floor / 1e12, rate / 1e9, m.job.threads, floor / rate, solverText, m.total / floorSeconds))
                if let ranks = m.ranks { printResult(PruneBreakdown.table(ranks, floorSeconds: floorSeconds)) }
            }
            // The kernels are timed on rank 0 after the whole runs (they need no other rank).
            let kernelRuns = kernels
                ? try PruneKernelBench(widths: try widthList(), tokens: seqlen, rows: kernelRows, repeats: 3).run(json: json) : []
            if json { try JSONOutput.print(["ranks": comm.size, "runs": runs, "kernels": kernelRuns]) }
        }

        /// The FLOPs no implementation of the reference's protocol can skip: every block's forward
        /// passes and statistic terms over all windows (`ScalingModel.Job.computeFlops`: the dense
        /// statistics pass without the last projection, the pruned propagation, and OWL's extra
        /// dense pass). The solver's own work comes on top, so this is a lower bound.
        static func flopFloor(_ job: PruneJob, owl: Bool, options: MethodOptions) -> Double {
            ScalingModel.Job(shape: job.architecture.shape, blocks: job.architecture.blockCount, windows: job.windows.count,
                             length: job.windows.length, method: job.configuration.method,
                             kinds: requiredStatistics(method: job.configuration.method, options: job.configuration.options),
                             owl: owl, storedBytesPerWeight: 2).computeFlops
        }

        /// sgemm's aggregate rate on `threads` threads at once, each one BLAS thread, on a block's
        /// largest product (`rows × hidden` by `hidden × intermediate`): the ceiling the floor uses.
        /// Each thread times its own products and the trial's rate is the sum of the threads' rates,
        /// so a thread that starts late does not count as slow; the best of seven trials is the
        /// ceiling (three whole-trial walls gave 155 to 220 GFLOP/s on the same idle machine).
        static func sgemmRate(threads: Int, rows: Int, shape: BlockShape) -> Double {
            let a = Matrix(rows: rows, cols: shape.hiddenSize, repeating: 0.5)
            let b = Matrix(rows: shape.hiddenSize, cols: shape.intermediateSize, repeating: 0.25)
            let repeats = 8
            let flops = Double(repeats) * 2 * Double(rows * shape.hiddenSize * shape.intermediateSize)
            var best = 0.0
            for _ in 0..<7 {
                let rates = Parallel.map(threads, workers: threads) { _ -> Double in
                    var c = Matrix(rows: rows, cols: shape.intermediateSize)
                    Matrix.gemm(a, transposeA: false, b, transposeB: false, into: &c)
                    let t = Communicator.wallTime
                    for _ in 0..<repeats { Matrix.gemm(a, transposeA: false, b, transposeB: false, into: &c) }
                    return flops / (Communicator.wallTime - t)
                }
                best = max(best, rates.reduce(0, +))
            }
            return best
        }
    }
}
