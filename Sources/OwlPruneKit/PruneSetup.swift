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

/// What `prune` and `plan` share: the checkpoint, the architecture and the calibration windows.
package struct PruneSetup {
    package let comm: Communicator
    package let checkpoint: CheckpointDirectory
    package let architecture: Architecture
    /// `var`: `--atp-beta auto` replaces the allocation's β after the search (`ATPBetaSearch`).
    package var configuration: PruneConfiguration
    package let windows: CalibrationWindows
    /// `--atp-beta auto`: the calibration text's held-out tail (every rank; empty otherwise).
    package private(set) var heldout: [Int] = []
    /// Rank 0's tokenizer load, tokenizing and window sampling (0 elsewhere), and every rank's
    /// wait for the windows' broadcast (`bench prune --breakdown`).
    package private(set) var tokenizeSeconds = 0.0, windowsShareSeconds = 0.0
    /// Where the set-up and the jobs it makes report (rank 0 of `comm` only; a caller on a
    /// sub-communicator passes events that are already quiet outside its first group).
    package let events: RunEvents

    /// - Parameter memory: when given, the memory check runs before the windows are drawn.
    package init(model: String, method: MethodOptions, calibration: CalibrationOptions, comm: Communicator,
         memory: MemoryOptions? = nil, threads: Int? = nil, split: WorkSplit? = nil,
         overrides: SparsityOverrides = SparsityOverrides(), searchesATPBeta: Bool = false, holdOut: Int = 0,
         events: @escaping RunEvents) throws {
        self.comm = comm
        let say = reportingRank(of: comm, events)
        self.events = say
        if method.atpAuto {
            guard searchesATPBeta else { throw ValidationError("--atp-beta auto: only `owlprune prune` runs the β search; give a number here") }
            guard calibration.calib != nil else { throw ValidationError("--atp-beta auto needs --calib FILE (its held-out tail is cut from the text)") }
        }
        let url = URL(fileURLWithPath: model)
        checkpoint = try CheckpointDirectory(url: url)
        architecture = try Architecture(config: checkpoint.config)
        try architecture.validateModelTensors(in: checkpoint)
        let length = calibration.seqlen ?? min(2048, architecture.maxPositions)
        guard length <= architecture.maxPositions else {
            throw ValidationError("--seqlen \(length) exceeds the model's max_position_embeddings \(architecture.maxPositions)")
        }
        if case let .nOfM(_, m) = method.pattern {
            for (name, width) in [("hidden_size", architecture.shape.hiddenSize), ("intermediate_size", architecture.shape.intermediateSize)]
            where width % m != 0 {
                throw ValidationError("--pattern \(method.pattern): M = \(m) does not divide \(name) \(width)")
            }
        }
        try CalibrationOptions.checkTokenCount(nsamples: calibration.nsamples, seqlen: length)
        var planned = method.configuration(modelID: url.standardizedFileURL.lastPathComponent,
                                           seed: calibration.calib == nil ? nil : calibration.seed)
        if let memory {
            try MemoryCheck.checkPrune(architecture: architecture, checkpoint: checkpoint, comm: comm,
                                       nsamples: calibration.nsamples, seqlen: length,
                                       threads: try Self.workerCount(threads: threads, propagation: planned.propagation, split: split, comm: comm),
                                       statistics: requiredStatistics(method: planned.method, options: planned.options),
                                       maxMemory: memory.maxMemoryBytes)
        }
        planned.overrides = overrides
        // A recipe's block indices and expressions are checked now, not after the statistics pass.
        var probe = try SparsityPlan.make(method: planned.method, pattern: planned.pattern, target: planned.sparsity,
                                          allocation: .uniform, blocks: architecture.blockCount)
        try overrides.apply(to: &probe)
        var local: CalibrationWindows? = nil
        let tokenizeStart = Communicator.wallTime
        if comm.rank == 0 {
            if let file = calibration.calibTokens {
                local = try CalibrationWindows.read(idsFile: URL(fileURLWithPath: file), count: calibration.nsamples,
                                                    length: length, vocabulary: architecture.vocabularySize)
            } else if let file = calibration.calib {
                let tokenizer = try Tokenizer.load(directory: url)
                var stream = tokenizer.encode(try readTextFile(URL(fileURLWithPath: file))).map(Int.init)
                // `--atp-beta auto` and `--replacement layer` (`holdOut`) validate on the text's tail.
                let held = method.atpAuto ? method.atpHeldoutWindows : holdOut
                if held > 0 {
                    (stream, heldout) = try ATPBetaSearch.cutHeldout(stream: stream, windows: held,
                                                                     length: length, nsamples: calibration.nsamples, file: file,
                                                                     flag: method.atpAuto ? "--atp-heldout-windows" : "--train-heldout-windows")
                }
                local = try CalibrationWindows.sample(stream: stream, count: calibration.nsamples, length: length,
                                                      seed: calibration.seed, file: file)
                say(.progress("calibration: \(file) → \(stream.count) tokens, \(calibration.nsamples) windows of \(length) (seed \(calibration.seed))"))
            }
        }
        tokenizeSeconds = Communicator.wallTime - tokenizeStart
        let shareStart = Communicator.wallTime
        windows = try CalibrationWindows.broadcast(local, comm: comm)
        windowsShareSeconds = Communicator.wallTime - shareStart
        if method.atpAuto || holdOut > 0 { heldout = try comm.broadcast(heldout.map(Int64.init), root: 0).map(Int.init) }
        if let note = architecture.slidingWindowNote(sequenceLength: length) { say(.progress("note: \(note)")) }
        configuration = planned
    }

    /// One run id for all ranks, so they share one staging directory.
    package func runID() throws -> String { try Self.runID(comm: comm) }

    package static func runID(comm: Communicator) throws -> String {
        var bytes: [UInt8] = []
        if comm.rank == 0 {
            bytes = Array(StagedDirectory.newRunID().utf8)
        }
        return String(decoding: try comm.broadcast(bytes, root: 0), as: UTF8.self)
    }

    /// Default, one BLAS thread per worker: in sequential propagation with the blocks split the
    /// ranks take turns (block i waits for the pruned outputs of block i-1, and a waiting rank
    /// sleeps instead of spinning), so the working rank may use every core of its node; otherwise
    /// (windows split, dense propagation) all ranks work at once and share the node's cores.
    package static func workerCount(threads: Int?, propagation: Propagation, split: WorkSplit?, comm: Communicator) throws -> Int {
        let split = split ?? WorkSplit.defaultSplit(for: propagation)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let takesTurns = propagation == .sequential && split == .blocks
        return try threads ?? (takesTurns ? cores : max(1, cores / comm.ranksOnThisNode()))
    }

    /// - Parameter removal: `--remove-by`: the kept blocks, and with `--remove-by streamline
    ///   --replacement linear|layer` the reduced model with block b replaced (over
    ///   `RenumberedSource`); the job then prunes the reduced model, reading every weight from it.
    package func makeJob(threads: Int? = nil, split: WorkSplit? = nil, removal: DepthRemovalStep.Removal? = nil,
                 training: StreamlineTrainingSettings? = nil) throws -> PruneJob {
        let workers = try Self.workerCount(threads: threads, propagation: configuration.propagation, split: split, comm: comm)
        let split = split ?? WorkSplit.defaultSplit(for: configuration.propagation)
        let source: any WeightSource = removal?.source
            ?? removal.map { RenumberedSource(base: checkpoint, renumbering: $0.renumbering) } ?? checkpoint
        return try PruneJob(comm: comm, configuration: configuration, source: source,
                            architecture: removal.map { architecture.keeping($0.renumbering) } ?? architecture,
                            windows: windows, threads: workers, split: split, blockRemoval: removal?.result,
                            streamlineTraining: training, progress: { [rank = comm.rank, events] in
                                FaultInjection.point($0, rank: rank); StopSignal.checkpoint(); events(.progress($0))
                            },
                            // Every finished unit of work is a safe point for a signal, on every rank.
                            meter: { [events] in StopSignal.checkpoint(); events(.meter($0)) })
    }
}
