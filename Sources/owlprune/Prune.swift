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

        func validate() throws {
            if let t = threads, t < 1 { throw ValidationError("--threads \(t): must be at least 1") }
            if let s = split, WorkSplit(rawValue: s) == nil { throw ValidationError("--split \(s): expected windows or blocks") }
        }

        func run() throws {
            let comm = try Runtime.communicator()
            setBLASThreads(1)
            let setup = try PruneSetup(model: model, method: method, calibration: calibration, comm: comm)
            let staged = try StagedDirectory(destination: URL(fileURLWithPath: out), force: force,
                                             runID: try setup.runID())
            do {
                let job = try setup.makeJob(threads: threads, split: split.flatMap(WorkSplit.init(rawValue:)))
                let output = try PruneOutput(comm: comm, architecture: setup.architecture, input: setup.checkpoint,
                                             staged: staged, arguments: arguments)
                try output.begin()
                let plan = try job.run(journalDirectory: BlockJournal.directory(forOutput: URL(fileURLWithPath: out)),
                                       resume: resume, sink: output.write(block:))
                if comm.rank == 0 { progress(PlanTable(plan: plan).render()) }
                if let report = try output.finish(job: job, plan: plan) {
                    let achieved = report.achievedSparsity
                    printResult(String(format: "pruned %@ → %@: %@ %@, target %.4f, achieved %.4f over the 7 linears of %d blocks, %d ranks",
                                       model, out, plan.method.rawValue, method.allocation, plan.targetSparsity, achieved,
                                       plan.blockSparsities.count, comm.size))
                }
            } catch {
                staged.discard()
                throw error
            }
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

    init(model: String, method: MethodOptions, calibration: CalibrationOptions, comm: Communicator) throws {
        self.comm = comm
        let url = URL(fileURLWithPath: model)
        checkpoint = try CheckpointDirectory(url: url)
        architecture = try Architecture(config: checkpoint.config)
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
        configuration = method.configuration(modelID: url.standardizedFileURL.lastPathComponent,
                                             seed: calibration.calib == nil ? nil : calibration.seed)
    }

    /// One run id for all ranks, so they share one staging directory.
    func runID() throws -> String {
        var bytes: [UInt8] = []
        if comm.rank == 0 {
            bytes = Array("\(ProcessInfo.processInfo.processIdentifier)-\(Int(Date().timeIntervalSince1970))".utf8)
        }
        return String(decoding: try comm.broadcast(bytes, root: 0), as: UTF8.self)
    }

    func makeJob(threads: Int? = nil, split: WorkSplit? = nil) throws -> PruneJob {
        // Default, one BLAS thread per worker: in sequential propagation with the blocks split the
        // ranks take turns (block i waits for the pruned outputs of block i-1, and a waiting rank
        // sleeps instead of spinning), so the working rank may use every core of its node;
        // otherwise (windows split, dense propagation) all ranks work at once and share the node's cores.
        let split = split ?? WorkSplit.defaultSplit(for: configuration.propagation)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let takesTurns = configuration.propagation == .sequential && split == .blocks
        let workers = try threads ?? (takesTurns ? cores : max(1, cores / comm.ranksOnThisNode()))
        return try PruneJob(comm: comm, configuration: configuration, source: checkpoint, architecture: architecture,
                            windows: windows, threads: workers, split: split, progress: progress)
    }
}
