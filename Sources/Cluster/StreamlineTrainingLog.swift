import Pruning

/// What `--replacement layer`'s training did, for `owlprune-report.json` (issue 24 item 5):
/// every optimizer step's loss, gradient norm, learning rate and time, the validation loss
/// before training and after every epoch, and which state was kept. Keys are camelCase here and
/// snake_case in the report (`PruneReport.encoder`).
public struct StreamlineTrainingLog: Codable, Sendable, Equatable {
    public struct Step: Codable, Sendable, Equatable {
        public var epoch: Int
        /// MSE of the step's batch (mean over its windows × tokens × hidden dimensions) before the update.
        public var loss: Double
        /// The gradient's total 2-norm before clipping.
        public var gradientNorm: Double
        public var learningRate: Double
        /// Wall seconds of the step on rank 0 (from the first forward to the applied update).
        public var seconds: Double
        /// Per rank: seconds spent computing its windows' gradient terms in this step.
        public var rankSeconds: [Double]
    }

    public var settings: StreamlineTrainingSettings
    public var trainingWindows: Int
    public var validationWindows: Int
    public var stepsPerEpoch: Int
    public var steps: [Step] = []
    /// Index 0: the untrained block (block b); index e: after epoch e.
    public var validationLoss: [Double] = []
    /// The entry of `validationLoss` whose weights were written (0: training never improved on block b).
    public var keptEpoch: Int = 0

    public init(settings: StreamlineTrainingSettings, trainingWindows: Int, validationWindows: Int, stepsPerEpoch: Int) {
        self.settings = settings
        self.trainingWindows = trainingWindows
        self.validationWindows = validationWindows
        self.stepsPerEpoch = stepsPerEpoch
    }
}
