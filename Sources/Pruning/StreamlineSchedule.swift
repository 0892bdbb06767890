import Foundation

/// LLM-Streamline's learning-rate schedule, RUCKBReasoning/LLM-Streamline
/// `LLM_Streamline/scheduler.py` (`get_cosine_schedule_with_warmup` with a floor): a torch
/// `LambdaLR` whose factor rises linearly from 0 over the warmup, then follows half a cosine from
/// the maximum down to `minimum` (args.py: lr 2e-4, min_lr 5e-5). The factor at scheduler step s
/// times the maximum is the learning rate the optimizer uses at its (s+1)-th step; step 0 of a
/// warmup therefore trains at learning rate 0 (torch still advances Adam's moments then).
///
/// How the authors call it (`train_lightweightnetwork.py`): warmup `len(loader)·epochs·0.01·0.5`
/// and length `len(loader)·epochs·0.5`, counted in batches, but `scheduler.step()` runs once per
/// optimizer step, i.e. every `gradient_accumulation_step` = 16 batches. A run therefore reaches
/// only 1/16 of its batches in scheduler steps, 1/8 of the declared length: the warmup takes the
/// first 8% of the optimizer steps and the cosine then only gets to 12% of its way, so the rate
/// ends near 1.95e-4, not at 5e-5. `authors(batches:epochs:accumulation:)` reproduces that;
/// `init` takes any warmup and length.
public struct StreamlineSchedule: Sendable, Equatable, Codable {
    public var warmupSteps: Double
    public var totalSteps: Double
    public var maximum: Double
    public var minimum: Double

    public init(warmupSteps: Double, totalSteps: Double, maximum: Double = 2e-4, minimum: Double = 5e-5) {
        precondition(maximum > 0 && minimum >= 0 && warmupSteps >= 0 && totalSteps >= 0, "streamline schedule: bad parameters")
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.maximum = maximum
        self.minimum = minimum
    }

    /// The schedule exactly as the authors construct it for `batches` batches per epoch.
    public static func authors(batches: Int, epochs: Int, maximum: Double = 2e-4, minimum: Double = 5e-5) -> StreamlineSchedule {
        let n = Double(batches) * Double(epochs)
        return StreamlineSchedule(warmupSteps: n * 0.01 * 0.5, totalSteps: n * 0.5, maximum: maximum, minimum: minimum)
    }

    /// The schedule as the authors' construction effectively runs it, for a run of
    /// `optimizerSteps` optimizer steps: their warmup of 1% · ½ of the micro-batches and length
    /// of ½ of the micro-batches, counted in optimizer steps of 16 micro-batches, are 0.08 and 8
    /// times the optimizer steps. So: learning rate 0 at the first step, a linear warmup over the
    /// first 8% of the steps, then the first 12% of a half cosine (the rate ends near 97% of
    /// the maximum). owlprune's default (`StreamlineTrainingSettings`): the authors' behaviour,
    /// whatever batch size the user picks.
    public static func effective(optimizerSteps: Int, maximum: Double = 2e-4, minimum: Double = 5e-5) -> StreamlineSchedule {
        let n = Double(optimizerSteps)
        return StreamlineSchedule(warmupSteps: n * 0.08, totalSteps: n * 8, maximum: maximum, minimum: minimum)
    }

    /// The learning rate of the optimizer step that follows `step` scheduler steps (0-based),
    /// `_get_cosine_schedule_with_warmup_lr_lambda` times the maximum, in float64 as Python does.
    public func learningRate(step: Int) -> Double {
        let s = Double(step)
        if s < warmupSteps { return maximum * (s / max(1, warmupSteps)) }
        let progress = (s - warmupSteps) / max(1, totalSteps - warmupSteps)
        let lambda = max(0, 0.5 * (1 + cos(Double.pi * 0.5 * 2 * progress)))
        return maximum * ((minimum + lambda * (maximum - minimum)) / maximum)
    }
}
