import Diagnostics
import Distribution
import Foundation
import MPIKit
import Model
import Pruning
import Tensor

/// LLM-Streamline's replacement layer trained data-parallel over the ranks (issue 24 items 2 and
/// 4; docs/algorithms.md "LLM-Streamline: the trained layer").
///
/// Every rank holds the pairs (h_b, h_{b+n}) of every training window, the pairs of its
/// contiguous share of the validation windows, and the same layer. A step's batch is a fixed set
/// of training windows (`StreamlineTrainingSettings.batchWindows`, ascending), and rank r takes
/// the r-th contiguous share of that list (`windowShare` over the batch), so every rank computes
/// ⌈batch / ranks⌉ windows or one fewer whichever windows the step drew. (Holding only its own
/// windows, a rank computed the batch windows it happened to hold: with 4 random windows over 2
/// ranks the busier rank had 3 in many steps, and 2 ranks trained at 60% of the two-process
/// ceiling.) For each of its windows a rank computes the float32 gradient of the step's MSE
/// (`MeanSquaredError.gradient` against the whole batch's element count, `DecoderBlock.backward`)
/// and the window's float64 sum of squares — in parallel over threads, each window's work being
/// the same single-threaded code wherever it runs. The terms are then folded in ascending batch
/// order into a float64 `DecoderBlockGradientSum` that travels as a chain (as `WindowOrderChain`
/// does for the statistics): rank r receives the sum of the shares before its own, adds its
/// windows in order, passes it on; the last rank rounds it to float32 once and broadcasts. The
/// shares are consecutive runs of the batch in rank order, so the sequence of additions is the
/// one-rank sequence. Clipping and AdamW then run on identical operands on every rank: the
/// weights are the same bits for any rank and thread count.
///
/// Memory per rank: every training pair (2 · training windows · tokens · hidden floats) and its
/// validation pairs, the layer, AdamW's two moments (2× the layer), the float64 sum (2× the
/// layer), one float32 gradient term per batch window it computes (kept until the chain arrives)
/// and one tape per window being processed.
public struct StreamlineTrainer {
    public let comm: Communicator
    public let threads: Int
    public let rope: RoPETable
    public let settings: StreamlineTrainingSettings
    /// Every training pair, in window order (`trainingWindows` of them).
    public let training: [(input: Matrix, target: Matrix)]
    public let trainingWindows: Int
    /// This rank's validation pairs, windows `myValidation` of `validationWindows`.
    public let validation: [(input: Matrix, target: Matrix)]
    public let myValidation: Range<Int>
    public let validationWindows: Int
    /// Tokens per window.
    public let tokens: Int
    let progress: (String) -> Void

    static let tag = MessageTag.streamlineChain

    public init(comm: Communicator, threads: Int, rope: RoPETable, settings: StreamlineTrainingSettings,
                training: [(input: Matrix, target: Matrix)], trainingWindows: Int,
                validation: [(input: Matrix, target: Matrix)], validationWindows: Int, tokens: Int, progress: @escaping (String) -> Void) {
        self.comm = comm
        self.threads = max(1, threads)
        self.rope = rope
        self.settings = settings
        self.training = training
        self.trainingWindows = trainingWindows
        self.validation = validation
        self.validationWindows = validationWindows
        self.tokens = tokens
        self.myValidation = windowShare(count: validationWindows, ranks: comm.size, rank: comm.rank)
        self.progress = progress
        precondition(training.count == trainingWindows && validation.count == myValidation.count,
                     "streamline training: pairs do not match this rank's windows")
    }

    /// Refuses settings the windows cannot carry, in one line naming the flag.
    public static func check(_ settings: StreamlineTrainingSettings, trainingWindows: Int) throws {
        guard settings.epochs >= 1 else { throw ClusterError.badArgument("--train-epochs \(settings.epochs): must be at least 1") }
        guard settings.batch >= 1 else { throw ClusterError.badArgument("--train-batch \(settings.batch): must be at least 1") }
        guard settings.batch <= trainingWindows else {
            throw ClusterError.badArgument("--train-batch \(settings.batch): more than the \(trainingWindows) training windows (--nsamples)")
        }
        guard settings.heldoutWindows >= 1 else {
            throw ClusterError.badArgument("--train-heldout-windows \(settings.heldoutWindows): must be at least 1")
        }
        guard settings.learningRate > 0, settings.learningRate.isFinite else {
            throw ClusterError.badArgument("--train-lr \(settings.learningRate): must be a positive number")
        }
    }

    /// Trains `initial` (block b) and returns the state with the lowest validation loss.
    /// - Parameter journal: where the state is saved after every finished step and resumed
    ///   from (`StreamlineJournal`); the result is the same bits as a run never interrupted.
    public func train(_ initial: DecoderBlock, journal: StreamlineJournal? = nil) throws -> (block: DecoderBlock, log: StreamlineTrainingLog) {
        try Self.check(settings, trainingWindows: trainingWindows)
        let perEpoch = settings.stepsPerEpoch(windows: trainingWindows)
        let total = perEpoch * settings.epochs
        let schedule = settings.schedule(windows: trainingWindows)
        var log = StreamlineTrainingLog(settings: settings, trainingWindows: trainingWindows,
                                        validationWindows: validationWindows, stepsPerEpoch: perEpoch)
        var block = initial
        var parameters = block.parameterTensors
        var optimizer = AdamW(sizes: parameters.map(\.count), weightDecay: settings.weightDecay)
        var best: (loss: Double, parameters: [[Float]], epoch: Int)
        var step = 0
        let note: (String) -> Void = { line in if comm.rank == 0 { progress(line) } }
        if let journal, let state = try journal.load(comm: comm, start: initial.index, sizes: parameters.map(\.count),
                                                         totalSteps: total, note: note) {
            // Everything the next step reads: weights, moments, AdamW's step, the best state and
            // the log; the windows of the next step follow from the seed and the step alone.
            step = state.step
            parameters = state.parameters
            optimizer = state.optimizer
            log = state.log
            best = (log.validationLoss[state.bestEpoch], state.best, state.bestEpoch)
            block.setParameterTensors(parameters)
            note("streamline: resuming the training after step \(step) of \(total) (journal \(journal.directory.path))")
        } else {
            best = (loss: try validationLoss(block), parameters: parameters, epoch: 0)
            log.validationLoss.append(best.loss)
            note(String(format: "streamline: validation loss before training %.6g", best.loss))
        }
        let resumed = step
        let meter = JobProgress(phase: resumed == 0 ? "streamline training" : "streamline training (resumed after step \(resumed))",
                                unit: "step", units: total - resumed, windows: trainingWindows, tokensPerUnit: settings.batch * tokens,
                                started: Communicator.wallTime, report: note)
        while step < total {
            let epoch = step / perEpoch, s = step % perEpoch
            // A safe point per step: a signal stops training here (every finished step is
            // journaled, so the stop keeps them all), and a failed peer stops this rank too.
            StopSignal.checkpoint()
            FailureNotice.stopIfPeerFailed()
            let started = Communicator.wallTime
            let batch = settings.batchWindows(epoch: epoch, step: s, windows: trainingWindows)
            let (gradients, loss, computeSeconds) = try batchGradient(block, batch: batch)
            var clipped = gradients
            let norm = GradientClipping.clip(&clipped, maxNorm: settings.maxGradientNorm)
            let rate = schedule.learningRate(step: step)
            optimizer.update(&parameters, gradients: clipped, learningRate: rate)
            block.setParameterTensors(parameters)
            let times = try rankTimes(computeSeconds)
            log.steps.append(.init(epoch: epoch, loss: loss, gradientNorm: norm, learningRate: rate,
                                   seconds: Communicator.wallTime - started, rankSeconds: times))
            meter.finished(step - resumed)
            step += 1
            if s == perEpoch - 1 {
                let loss = try validationLoss(block)
                log.validationLoss.append(loss)
                let last = log.steps.last.map { String(format: ", last step's training loss %.6g", $0.loss) } ?? ""
                note(String(format: "streamline: epoch %d/%d, validation loss %.6g%@", epoch + 1, settings.epochs, loss, last))
                if loss < best.loss { best = (loss, parameters, epoch + 1) }
            }
            if let journal, comm.rank == 0 {
                try journal.record(.init(step: step, start: initial.index, parameters: parameters, best: best.parameters,
                                         bestEpoch: best.epoch, optimizer: optimizer, log: log))
            }
            FaultInjection.point("streamline: journaled step \(step)", rank: comm.rank)
        }
        log.keptEpoch = best.epoch
        block.setParameterTensors(best.parameters)
        return (block, log)
    }

    /// The step's gradient (float32, rounded once from the float64 window-order sum), its MSE and
    /// this rank's compute seconds.
    func batchGradient(_ block: DecoderBlock, batch: [Int]) throws -> (gradients: [[Float]], loss: Double, seconds: Double) {
        let hidden = block.shape.hiddenSize
        let elements = batch.count * tokens * hidden
        // This rank's consecutive share of the batch, in the batch's ascending order.
        let share = windowShare(count: batch.count, ranks: comm.size, rank: comm.rank)
        let mine = Array(batch[share])
        let clock = Communicator.wallTime
        let pairs = training, rope = rope
        let terms = Parallel.map(mine.count, workers: threads) { k -> (DecoderBlockGradients, Double) in
            let pair = pairs[mine[k]]
            let (y, tape) = block.forwardForTraining(pair.input, rope: rope)
            let squares = MeanSquaredError.sumOfSquares(prediction: y, target: pair.target)
            let dy = MeanSquaredError.gradient(prediction: y, target: pair.target, elements: elements)
            return (block.backward(tape, outputGradient: dy, rope: rope).parameters, squares)
        }
        let seconds = Communicator.wallTime - clock
        // The chain's state: the float64 gradient sum, then the float64 sum of squares.
        var sum = DecoderBlockGradientSum(shapedLike: block)
        var squares = 0.0
        let before = share.lowerBound
        if comm.rank > 0 {
            let size = sum.flattened.count + 1
            let state = try comm.recv(Double.self, count: size, from: comm.rank - 1, tag: Self.tag)
            sum = DecoderBlockGradientSum(shapedLike: block, flattened: Array(state.dropLast()), windows: before)
            squares = state[size - 1]
        }
        precondition(sum.windows == before, "streamline chain: state has \(sum.windows) windows, expected \(before)")
        for (g, s) in terms {
            sum.add(g)
            squares += s
        }
        if comm.size == 1 { return (sum.rounded, squares / Double(elements), seconds) }
        var rounded = [Float](), loss = [Double](repeating: 0, count: 1)
        let sizes = block.parameterTensors.map(\.count)
        if comm.rank < comm.size - 1 {
            try comm.send(sum.flattened + [squares], to: comm.rank + 1, tag: Self.tag)
            rounded = [Float](repeating: 0, count: sizes.reduce(0, +))
        } else {
            rounded = Array(sum.rounded.joined())
            loss[0] = squares
        }
        try comm.broadcast(&rounded, root: comm.size - 1)
        try comm.broadcast(&loss, root: comm.size - 1)
        var start = 0
        let gradients = sizes.map { n in
            defer { start += n }
            return Array(rounded[start..<(start + n)])
        }
        return (gradients, loss[0] / Double(elements), seconds)
    }

    /// MSE of `block` over every validation window: per-window float64 sums of squares,
    /// all-reduced with zeros outside each rank's windows (exact), summed in window order.
    func validationLoss(_ block: DecoderBlock) throws -> Double {
        let pairs = validation, rope = rope
        let mine = Parallel.map(pairs.count, workers: threads) { k in
            MeanSquaredError.sumOfSquares(prediction: block.forward(pairs[k].input, rope: rope), target: pairs[k].target)
        }
        var full = [Double](repeating: 0, count: validationWindows)
        for (k, s) in mine.enumerated() { full[myValidation.lowerBound + k] = s }
        if comm.size > 1 { full = try comm.allreduceSum(full) }
        return full.reduce(0, +) / Double(validationWindows * tokens * block.shape.hiddenSize)
    }

    /// Every rank's compute seconds of a step, on every rank.
    func rankTimes(_ seconds: Double) throws -> [Double] {
        if comm.size == 1 { return [seconds] }
        var full = [Double](repeating: 0, count: comm.size)
        full[comm.rank] = seconds
        return try comm.allreduceSum(full)
    }
}
