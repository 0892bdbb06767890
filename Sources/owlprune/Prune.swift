import ArgumentParser
import Checkpoint
import Cluster
import Foundation
import MPIKit
import Model
import Pruning
import Tensor
import Tokenizer

extension OwlPrune {
    /// `owlprune prune`: the product. One-shot pruning, blocks sharded over the MPI ranks, one
    /// agreed layerwise plan, a Hugging Face directory out that appears only when complete.
    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prune a checkpoint across MPI ranks (magnitude, Wanda, SparseGPT; uniform, OWL, ATP).")

        @Option(help: "Hugging Face checkpoint directory.") var model: String
        @Option(help: "Output directory (written as OUT.tmp-<runid>, renamed when complete).") var out: String
        @Flag(help: "Replace an existing output directory.") var force = false
        @Flag(help: "Reuse blocks finished by an interrupted run (journal in OUT.partial/).") var resume = false
        @Option(help: "Threads per rank for independent calibration windows (default: the node's cores in sequential propagation, where ranks take turns; cores / ranks on the node in dense). Results do not depend on it.")
        var threads: Int?
        @Option(help: "windows (every rank on every block, each on its share of the calibration windows) | blocks (each rank its own blocks, windows streamed rank to rank). Default: windows for sequential propagation, blocks for dense. Results do not depend on it.")
        var split: String?
        @OptionGroup var method: MethodOptions
        @OptionGroup var calibration: CalibrationOptions
        @OptionGroup var memory: MemoryOptions

        func validate() throws {
            if let t = threads, t < 1 { throw ValidationError("--threads \(t): must be at least 1") }
            if let s = split, WorkSplit(rawValue: s) == nil { throw ValidationError("--split \(s): expected windows or blocks") }
        }

        func run() throws {
            let comm = try Runtime.communicator()
            setBLASThreads(1)
            // The output is checked and locked before any file is read, so a bad --out costs nothing.
            let staged = try StagedDirectory(destination: URL(fileURLWithPath: out), force: force,
                                             runID: try PruneSetup.runID(comm: comm), inputs: inputs, lock: comm.rank == 0)
            do {
                let split = split.flatMap(WorkSplit.init(rawValue:))
                let setup = try PruneSetup(model: model, method: method, calibration: calibration, comm: comm,
                                           memory: memory, threads: threads, split: split)
                let job = try setup.makeJob(threads: threads, split: split)
                let output = PruneOutput(comm: comm, layout: job.layout, input: setup.checkpoint,
                                             staged: staged, arguments: arguments)
                try output.begin()
                let result = try job.run(journalDirectory: BlockJournal.directory(forOutput: URL(fileURLWithPath: out)),
                                         resume: resume, sink: output.write(block:))
                let plan = result.plan
                if comm.rank == 0 { progress(PlanTable(plan: plan).render()) }
                if let report = try output.finish(job: job, result: result) {
                    let achieved = report.achievedSparsity
                    printResult(String(format: "pruned %@ → %@: %@ %@, target %.4f, achieved %.4f over the 7 linears of %d blocks, %d ranks",
                                       model, out, plan.method.rawValue, method.allocation, plan.targetSparsity, achieved,
                                       plan.blockSparsities.count, comm.size))
                }
            } catch {
                Runtime.onFailure { staged.discard() }
                throw error
            }
        }

        /// What the run reads, for the `--out` overlap checks.
        private var inputs: [(flag: String, url: URL)] {
            [("--model", URL(fileURLWithPath: model))]
                + [calibration.calib.map { ("--calib", URL(fileURLWithPath: $0)) },
                   calibration.calibTokens.map { ("--calib-tokens", URL(fileURLWithPath: $0)) }].compactMap { $0 }
        }

        /// The command line as typed values, for the report.
        private var arguments: PruneArguments {
            let owl = method.allocation == "owl"
            return PruneArguments(
                model: model, out: out, sparsity: method.sparsity, method: method.method, allocation: method.allocation,
                pattern: method.pattern, propagation: method.propagation, split: split, threads: threads,
                nsamples: calibration.nsamples, seqlen: calibration.seqlen, seed: calibration.seed, damp: method.damp,
                owlM: owl ? method.owlM : nil, owlLambda: owl ? method.owlLambda : nil, atpBeta: method.atpBeta,
                calib: calibration.calib, calibTokens: calibration.calibTokens,
                dsnot: method.dsnot ? .init(signConstraint: method.dsnotSignConstraint == "on", allLayers: method.dsnotAllLayers) : nil,
                dass: method.dass)
        }
    }
}

/// What `prune` and `plan` share: the checkpoint, the architecture and the calibration windows.
struct PruneSetup {
    let comm: Communicator
    let checkpoint: CheckpointDirectory
    let architecture: Architecture
    let configuration: PruneConfiguration
    let windows: CalibrationWindows

    /// - Parameter memory: when given, the memory check runs before the windows are drawn.
    init(model: String, method: MethodOptions, calibration: CalibrationOptions, comm: Communicator,
         memory: MemoryOptions? = nil, threads: Int? = nil, split: WorkSplit? = nil) throws {
        self.comm = comm
        let url = URL(fileURLWithPath: model)
        checkpoint = try CheckpointDirectory(url: url)
        architecture = try Architecture(config: checkpoint.config)
        try architecture.validateModelTensors(in: checkpoint)
        let length = calibration.seqlen ?? min(2048, architecture.maxPositions)
        guard length <= architecture.maxPositions else {
            throw ValidationError("--seqlen \(length) exceeds the model's max_position_embeddings \(architecture.maxPositions)")
        }
        if case let .nOfM(_, m) = method.parsedPattern! {
            for (name, width) in [("hidden_size", architecture.shape.hiddenSize), ("intermediate_size", architecture.shape.intermediateSize)]
            where width % m != 0 {
                throw ValidationError("--pattern \(method.pattern): M = \(m) does not divide \(name) \(width)")
            }
        }
        try CalibrationOptions.checkTokenCount(nsamples: calibration.nsamples, seqlen: length)
        let planned = method.configuration(modelID: url.standardizedFileURL.lastPathComponent,
                                           seed: calibration.calib == nil ? nil : calibration.seed)
        if let memory {
            try MemoryCheck.checkPrune(architecture: architecture, checkpoint: checkpoint, comm: comm,
                                       nsamples: calibration.nsamples, seqlen: length,
                                       threads: try Self.workerCount(threads: threads, propagation: planned.propagation, split: split, comm: comm),
                                       statistics: requiredStatistics(method: planned.method, options: planned.options),
                                       maxMemory: memory.maxMemoryBytes)
        }
        var local: CalibrationWindows? = nil
        if comm.rank == 0 {
            if let file = calibration.calibTokens {
                local = try CalibrationWindows.read(idsFile: URL(fileURLWithPath: file), count: calibration.nsamples,
                                                    length: length, vocabulary: architecture.vocabularySize)
            } else if let file = calibration.calib {
                let tokenizer = try Tokenizer.load(directory: url)
                let stream = tokenizer.encode(try readTextFile(URL(fileURLWithPath: file))).map(Int.init)
                local = try CalibrationWindows.sample(stream: stream, count: calibration.nsamples, length: length,
                                                      seed: calibration.seed, file: file)
                progress("calibration: \(file) → \(stream.count) tokens, \(calibration.nsamples) windows of \(length) (seed \(calibration.seed))")
            }
        }
        windows = try CalibrationWindows.broadcast(local, comm: comm)
        if comm.rank == 0, let note = architecture.slidingWindowNote(sequenceLength: length) { progress("note: \(note)") }
        configuration = planned
    }

    /// One run id for all ranks, so they share one staging directory.
    func runID() throws -> String { try Self.runID(comm: comm) }

    static func runID(comm: Communicator) throws -> String {
        var bytes: [UInt8] = []
        if comm.rank == 0 {
            bytes = Array("\(ProcessInfo.processInfo.processIdentifier)-\(Int(Date().timeIntervalSince1970))".utf8)
        }
        return String(decoding: try comm.broadcast(bytes, root: 0), as: UTF8.self)
    }

    /// Default, one BLAS thread per worker: in sequential propagation with the blocks split the
    /// ranks take turns (block i waits for the pruned outputs of block i-1, and a waiting rank
    /// sleeps instead of spinning), so the working rank may use every core of its node; otherwise
    /// (windows split, dense propagation) all ranks work at once and share the node's cores.
    static func workerCount(threads: Int?, propagation: Propagation, split: WorkSplit?, comm: Communicator) throws -> Int {
        let split = split ?? WorkSplit.defaultSplit(for: propagation)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let takesTurns = propagation == .sequential && split == .blocks
        return try threads ?? (takesTurns ? cores : max(1, cores / comm.ranksOnThisNode()))
    }

    func makeJob(threads: Int? = nil, split: WorkSplit? = nil) throws -> PruneJob {
        let workers = try Self.workerCount(threads: threads, propagation: configuration.propagation, split: split, comm: comm)
        let split = split ?? WorkSplit.defaultSplit(for: configuration.propagation)
        return try PruneJob(comm: comm, configuration: configuration, source: checkpoint, architecture: architecture,
                            windows: windows, threads: workers, split: split, progress: progress,
                            meter: ProgressMeter.show)
    }
}
