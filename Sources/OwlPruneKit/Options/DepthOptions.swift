import ArgumentParser
import Pruning

extension BlockRemovalMethod: ExpressibleByArgument {}
extension StreamlineReplacement: ExpressibleByArgument {}

/// Structured depth pruning (issue 12 item 6, docs/algorithms.md §17): `--remove-blocks K` with
/// `--method shortgpt|sleb` drops whole blocks only; with `--remove-by shortgpt|sleb` beside an
/// unstructured `--method`, the blocks are removed first (scored on the dense model) and the
/// remaining ones are then pruned as usual, calibrated on the reduced model.
package struct DepthOptions: ParsableArguments {
    /// Explicit: `ParsableArguments` needs an initializer as visible as the type (the command line's module parses it).
    package init() {}
    @Option(name: .customLong("remove-blocks"), help: "Remove K whole decoder blocks (with --method shortgpt|sleb, or --remove-by beside a pruning --method).")
    package var removeBlocks: Int?

    @Option(name: .customLong("remove-by"), help: "How --remove-blocks picks the blocks when --method prunes the rest.")
    package var removeBy: BlockRemovalMethod?

    /// Issue 24: what stands in for streamline's run (docs/algorithms.md "LLM-Streamline: the
    /// command"). Default with `--method streamline`: `layer`, the authors' default.
    @Option(help: "With streamline: what replaces the chosen run of K+1 blocks (layer, the default: its first block trained to map the run's input to its output; none: that block unchanged; linear: ReplaceMe's least-squares map folded into its down_proj).")
    package var replacement: StreamlineReplacement?

    /// `--replacement layer` (docs/algorithms.md "LLM-Streamline: the trained layer"); the
    /// authors' AdamW settings otherwise (wd 1e-3, clip 5, their effective schedule).
    @Option(name: .customLong("train-epochs"), help: "--replacement layer: passes over the calibration windows (default: enough for \(StreamlineTrainingSettings.defaultMinimumSteps) optimizer steps).")
    package var trainEpochs: Int?

    @Option(name: .customLong("train-batch"), help: "--replacement layer: calibration windows per optimizer step (default \(StreamlineTrainingSettings.defaultBatch), at most --nsamples).")
    package var trainBatch: Int?

    @Option(name: .customLong("train-lr"), help: "--replacement layer: peak AdamW learning rate (default 2e-4, the authors').")
    package var trainLR: Double?

    @Option(name: .customLong("train-heldout-windows"), help: "--replacement layer: windows of --seqlen tokens cut from the end of --calib before sampling, for the validation loss (default \(StreamlineTrainingSettings.defaultHeldoutWindows)).")
    package var trainHeldoutWindows: Int?

    /// Takes the recipe's value of every setting the command line did not give.
    package mutating func fill(from r: RunRequest) {
        removeBlocks = removeBlocks ?? r.removeBlocks
        removeBy = removeBy ?? r.removeBy
        replacement = replacement ?? r.replacement
        trainEpochs = trainEpochs ?? r.trainEpochs
        trainBatch = trainBatch ?? r.trainBatch
        trainLR = trainLR ?? r.trainLR
        trainHeldoutWindows = trainHeldoutWindows ?? r.trainHeldoutWindows
    }

    /// The replacement a streamline run uses: the flag, else `layer` (the authors' default) with
    /// `--method streamline` or `--remove-by streamline`.
    package func effectiveReplacement(method: MethodName) -> StreamlineReplacement? {
        if let replacement { return replacement }
        return method == .streamline || (removeBy == .streamline && !Self.isDepthMethod(method)) ? .layer : nil
    }

    /// The training settings of `--replacement layer` (nil otherwise).
    package func training(method: MethodName, seed: UInt64, windows: Int) -> StreamlineTrainingSettings? {
        guard effectiveReplacement(method: method) == .layer else { return nil }
        let batch = trainBatch ?? StreamlineTrainingSettings.defaultBatch
        return StreamlineTrainingSettings(epochs: trainEpochs ?? StreamlineTrainingSettings.defaultEpochs(windows: windows, batch: batch),
                                          batch: batch, learningRate: trainLR ?? StreamlineTrainingSettings.defaultLearningRate,
                                          heldoutWindows: trainHeldoutWindows ?? StreamlineTrainingSettings.defaultHeldoutWindows, seed: seed)
    }

    /// The depth method and K, or nil for a plain prune.
    package func removal(method: MethodName) -> (BlockRemovalMethod, Int)? {
        guard let k = removeBlocks else { return nil }
        if let m = BlockRemovalMethod(rawValue: method.rawValue) { return (m, k) }
        return removeBy.map { ($0, k) }
    }

    /// Depth only: `--method` itself is shortgpt or sleb.
    package static func isDepthMethod(_ method: MethodName) -> Bool { method.pruning == nil }

    /// A sweep grid's method word (sweep lists are plain strings).
    package static func isDepthMethod(_ method: String) -> Bool { BlockRemovalMethod(rawValue: method) != nil }

    package func validate(method: MethodName) throws {
        let depthMethod = Self.isDepthMethod(method)
        if let by = removeBy {
            guard !depthMethod else { throw ValidationError("--remove-by \(by): --method \(method) already removes blocks; give one of them") }
            guard removeBlocks != nil else { throw ValidationError("--remove-by \(by) needs --remove-blocks K") }
        }
        if depthMethod && removeBlocks == nil { throw ValidationError("--method \(method) needs --remove-blocks K") }
        let streamline = method == .streamline || removeBy == .streamline
        if let r = replacement, !streamline { throw ValidationError("--replacement \(r): only with --method streamline (or --remove-by streamline)") }
        let given = [("--train-epochs", trainEpochs.map(Double.init)), ("--train-batch", trainBatch.map(Double.init)),
                     ("--train-lr", trainLR), ("--train-heldout-windows", trainHeldoutWindows.map(Double.init))]
        if effectiveReplacement(method: method) != .layer, let flag = given.first(where: { $0.1 != nil })?.0 {
            throw ValidationError("\(flag): only with --replacement layer (--method streamline, or --remove-by streamline)")
        }
        if let e = trainEpochs, e < 1 { throw ValidationError("--train-epochs \(e): must be at least 1") }
        if let b = trainBatch, b < 1 { throw ValidationError("--train-batch \(b): must be at least 1") }
        if let r = trainLR, !(r > 0 && r.isFinite) { throw ValidationError("--train-lr \(r): must be a positive number") }
        if let h = trainHeldoutWindows, h < 1 { throw ValidationError("--train-heldout-windows \(h): must be at least 1") }
        if let k = removeBlocks {
            guard k >= 1 else { throw ValidationError("--remove-blocks \(k): must be at least 1") }
            guard depthMethod || removeBy != nil else {
                throw ValidationError("--remove-blocks \(k) needs --method shortgpt|sleb|streamline, or --remove-by shortgpt|sleb|streamline beside a pruning --method")
            }
        }
    }
}
