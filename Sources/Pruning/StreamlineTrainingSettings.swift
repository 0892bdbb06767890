import Tensor

/// How LLM-Streamline's replacement layer is trained (`--replacement layer`, issue 24 item 2).
/// Every value that decides the trained bits is here, so the plan records them.
///
/// Read in RUCKBReasoning/LLM-Streamline: `args.py` (lr 2e-4, wd 1e-3, min_lr 5e-5, batch_size 8,
/// gradient_accumulation_step 16, epoches 1) and `LLM_Streamline/train_lightweightnetwork.py:
/// lightweight_model_train` (AdamW, `clip_grad_norm_(max_norm=5)`, a shuffled `DataLoader`, one
/// optimizer step per 16 micro-batches, a partial accumulation at an epoch's end discarded by the
/// next epoch's `zero_grad`, validation MSE before training and after each epoch).
///
/// Where owlprune departs, and why:
/// - One optimizer step per `batch` windows (the authors' effective batch is 8 · 16 = 128
///   windows of 2048 tokens out of 100 000 samples; a calibration set of tens of windows would
///   get one step per epoch). The windows left over at an epoch's end are not used in that epoch,
///   as theirs are not.
/// - The schedule is `StreamlineSchedule.effective`: what their construction actually does
///   (warmup over 8% of the steps from learning rate 0, then an almost flat cosine), not what
///   its arguments suggest.
/// - The state kept is the one with the lowest validation loss, the untrained block included.
///   The authors intend this (`best_state_dict`), but `state_dict()` returns tensors that share
///   storage with the parameters, so their "best" is in fact the last state (and an epoch that
///   never improves leaves `best_state_dict = None`, which `load_state_dict` rejects).
public struct StreamlineTrainingSettings: Sendable, Codable, Equatable {
    public var epochs: Int
    /// Training windows per optimizer step.
    public var batch: Int
    public var learningRate: Double
    public var minimumLearningRate: Double
    public var weightDecay: Double
    public var maxGradientNorm: Double
    /// Windows of `--seqlen` tokens cut from the end of `--calib` before sampling: validation only.
    public var heldoutWindows: Int
    /// Seeds the per-epoch shuffle (the calibration seed).
    public var seed: UInt64

    public static let defaultBatch = 4, defaultHeldoutWindows = 4
    public static let defaultLearningRate = 2e-4
    /// `--train-epochs` by default: as many passes as give at least this many optimizer steps.
    /// The authors run ≈ 780 steps (100 000 samples / 128 per step, one epoch); a calibration set
    /// of tens of windows gives a few steps per epoch, and one epoch would barely move the layer
    /// (SmolLM2, 16 × 512 windows: the validation loss still falls steadily after 80 steps,
    /// docs/algorithms.md "LLM-Streamline: the trained layer").
    public static let defaultMinimumSteps = 100

    /// The default number of epochs for `windows` training windows in batches of `batch`.
    public static func defaultEpochs(windows: Int, batch: Int) -> Int {
        let perEpoch = max(1, windows / max(1, batch))
        return max(1, (defaultMinimumSteps + perEpoch - 1) / perEpoch)
    }

    public init(epochs: Int, batch: Int = defaultBatch, learningRate: Double = defaultLearningRate,
                minimumLearningRate: Double = 5e-5, weightDecay: Double = 1e-3, maxGradientNorm: Double = 5,
                heldoutWindows: Int = defaultHeldoutWindows, seed: UInt64 = 0) {
        self.epochs = epochs
        self.batch = batch
        self.learningRate = learningRate
        self.minimumLearningRate = minimumLearningRate
        self.weightDecay = weightDecay
        self.maxGradientNorm = maxGradientNorm
        self.heldoutWindows = heldoutWindows
        self.seed = seed
    }

    /// Optimizer steps per epoch over `windows` training windows (the remainder is left out).
    public func stepsPerEpoch(windows: Int) -> Int { windows / batch }

    /// The learning-rate schedule of a run over `windows` training windows.
    public func schedule(windows: Int) -> StreamlineSchedule {
        StreamlineSchedule.effective(optimizerSteps: stepsPerEpoch(windows: windows) * epochs, maximum: learningRate,
                                     minimum: min(minimumLearningRate, learningRate))
    }

    /// The order in which epoch `epoch` visits the training windows 0 ..< `windows`: a
    /// Fisher–Yates shuffle driven by SplitMix64 seeded from `seed` and the epoch, so every rank
    /// and every resumed run draws the same order without communicating.
    public func order(epoch: Int, windows: Int) -> [Int] {
        var generator = SplitMix64(seed: seed ^ (0x5354_524D_4C4E_0000 &+ UInt64(epoch)))
        var order = Array(0..<windows)
        var i = windows - 1
        while i > 0 {
            let j = Int(generator.next() % UInt64(i + 1))
            order.swapAt(i, j)
            i -= 1
        }
        return order
    }

    /// The windows of optimizer step `step` of epoch `epoch`, ascending: the order in which their
    /// gradients are summed (fixed by the windows alone, whichever rank holds them).
    public func batchWindows(epoch: Int, step: Int, windows: Int) -> [Int] {
        let order = order(epoch: epoch, windows: windows)
        return order[(step * batch)..<((step + 1) * batch)].sorted()
    }
}
