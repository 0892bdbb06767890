import Checkpoint
import Cluster
import Foundation
import MPIKit
import Pruning

/// `owlprune bench prune`'s measurement (issue 29): whole prune runs — set-up, tokenize, load,
/// statistics, plan, prune, write, journaled as `prune` journals — timed per phase on every rank,
/// one run per method, into one scratch directory the ranks share. The command line renders what
/// rank 0 gets back beside its FLOP floor and sgemm ceiling.
package struct PruneBench {
    package var model: String
    package var calib: String
    package var nsamples: Int
    package var seqlen: Int
    package var sparsity: Double
    /// Method names as `--methods` gives them (`owl-wanda` is Wanda with `--allocation owl`).
    package var methods: [String]
    /// Also gather every rank's `PruneBreakdown`.
    package var breakdown: Bool
    /// Worker threads per rank (nil: `PruneSetup.workerCount`'s default, as `prune`).
    package var threads: Int?

    package init(model: String, calib: String, nsamples: Int, seqlen: Int, sparsity: Double, methods: [String], breakdown: Bool,
                 threads: Int? = nil) {
        self.model = model
        self.calib = calib
        self.nsamples = nsamples
        self.seqlen = seqlen
        self.sparsity = sparsity
        self.methods = methods
        self.breakdown = breakdown
        self.threads = threads
    }

    /// One method's run, as rank 0 saw it.
    package struct Measurement {
        package var method: String
        /// The command's whole wall time, and its tokenize + window sampling share.
        package var total: Double
        package var tokenize: Double
        package var times: PhaseTimes
        package var blocks: Int
        /// The job (its shape, windows and statistics, for the FLOP floor) and the method's options.
        package var job: PruneJob
        package var options: MethodOptions
        /// Every rank's breakdown, in rank order (`breakdown` only).
        package var ranks: [PruneBreakdown]?
    }

    /// Runs on every rank of `comm`; rank 0 returns the measurements, the others nil.
    package func run(comm: Communicator, events: @escaping RunEvents) throws -> [Measurement]? {
        // One scratch directory for all ranks (rank 0's process id): they stage one output.
        let pid = try comm.broadcast(value: Int64(getpid()), root: 0)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("owlprune-bench-\(pid)")
        defer { if comm.rank == 0 { try? FileManager.default.removeItem(at: scratch) } }
        if comm.rank == 0 { try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true) }
        try comm.barrier()
        var measurements: [Measurement] = []
        for method in methods where method != "none" {
            let t0 = Communicator.wallTime
            // owl-wanda: Wanda with OWL's allocation at its defaults (M 5, λ 0.08).
            let methodArguments = method == "owl-wanda" ? ["--method", "wanda", "--allocation", "owl"] : ["--method", method]
            let methodOptions = try MethodOptions.parse(methodArguments + ["--sparsity", String(sparsity)])
            try methodOptions.check()
            let calibration = try CalibrationOptions.parse(["--calib", calib, "--nsamples", String(nsamples),
                                                            "--seqlen", String(seqlen)])
            try calibration.check()
            let setup = try PruneSetup(model: model, method: methodOptions, calibration: calibration, comm: comm, events: events)
            let tokenize = Communicator.wallTime - t0
            let out = scratch.appendingPathComponent(method)
            // Journaled as `prune` journals, so that the breakdown's journal is the command's.
            let journal = scratch.appendingPathComponent(method + ".journal")
            let staged = try StagedDirectory(destination: out, force: true, runID: try setup.runID(), lock: setup.comm.rank == 0)
            let job = try setup.makeJob(threads: threads)
            let output = try PruneOutput(comm: comm, layout: job.layout, input: setup.checkpoint,
                                         staged: staged, arguments: try PruneArguments(
                                            request: RunRequest(model: model, method: methodOptions, calibration: calibration),
                                            model: model, out: out.path))
            let prepared = Communicator.wallTime - t0
            let (result, _) = try output.write(job, journalDirectory: journal)
            try output.commit()
            let total = Communicator.wallTime - t0
            let ranks = breakdown ? try PruneBreakdown(wall: total, prepare: prepared - setup.tokenizeSeconds - setup.windowsShareSeconds,
                                                       tokenize: setup.tokenizeSeconds, windowsShare: setup.windowsShareSeconds,
                                                       result: result, output: output.times).gathered(comm) : nil
            measurements.append(Measurement(method: method, total: total, tokenize: tokenize, times: result.times,
                                            blocks: result.plan.blockSparsities.count, job: job, options: methodOptions, ranks: ranks))
        }
        return comm.rank == 0 ? measurements : nil
    }
}
