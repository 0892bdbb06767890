import Checkpoint
import Distribution
import Foundation
import MPIKit
import Model
import Pruning
import Tensor

/// `prune --dry-run` for depth pruning (issue 24 item 4): what `--remove-blocks` would cost on
/// these ranks, from one measured window per rank (docs/algorithms.md "LLM-Streamline: dry run").
///
/// Memory per rank is the sum of what `DepthSearch` holds at once: the dense model's blocks in
/// float32 (every rank reads every block), the hidden states of the method (below), and with
/// `--replacement layer` the training (`StreamlineTrainer`): the two hidden states h_b and
/// h_{b+n} of every training window and of this rank's validation windows, the layer with its
/// float32 gradient terms (one per window of its share of a batch), AdamW's two moments, the float64 gradient sum, the
/// best state, and one training tape per worker thread (the activations `DecoderBlock.backward`
/// reads plus one head's attention matrix). Time: the measured forward of one block on one
/// window times the block passes of the method, divided over the threads; with a layer, the
/// measured forward-and-backward of one window times a rank's share of a batch, per step.
public struct DepthEstimate: Codable, Sendable {
    public struct Rank: Codable, Sendable {
        public var rank: Int
        public var windows: Int
        public var trainingWindows: Int
        public var validationWindows: Int
        public var modelBytes: Int
        public var hiddenStateBytes: Int
        public var trainingBytes: Int
        public var memoryBoundBytes: Int
        public var seconds: Double
    }

    public var method: String
    public var removeBlocks: Int
    public var replacement: String?
    public var ranks: Int
    public var threadsPerRank: Int
    public var calibrationWindows: Int
    public var seqlen: Int
    /// Block forward passes per window: the scoring pass (ShortGPT, streamline: every block once;
    /// SLEB: one pass per round and candidate, as `SLEBSearch` runs them).
    public var blockPassesPerWindow: Int
    public var measuredForwardSeconds: Double
    public var measuredTrainingWindowSeconds: Double?
    public var training: StreamlineTrainingSettings?
    public var trainingSteps: Int?
    public var stepsPerEpoch: Int?
    /// Parameters of the replacement layer.
    public var layerParameters: Int?
    public var wallSeconds: Double
    public var perRank: [Rank]
}

extension DepthSearch {
    /// Measures block 0 on window 0 on every rank and returns every rank's estimate (on every rank).
    public func estimate(method: BlockRemovalMethod, count: Int, replacement: StreamlineReplacement?,
                         training: StreamlineTrainingSettings?, validationWindows: Int) throws -> DepthEstimate {
        try Self.check(count: count, method: method, blocks: architecture.blockCount)
        if let training { try StreamlineTrainer.check(training, trainingWindows: windows.count) }
        let shape = architecture.shape, blocks = architecture.blockCount, tokens = windows.length
        let block = try DecoderBlock.load(index: 0, shape: shape, from: source)
        let rope = architecture.ropeTable(positions: tokens)
        let input = try embed(ids: windows.window(0))
        var t = Communicator.wallTime
        let output = block.forward(input, rope: rope)
        let forward = Communicator.wallTime - t
        var trainingWindow = 0.0
        if training != nil {
            t = Communicator.wallTime
            let (y, tape) = block.forwardForTraining(input, rope: rope)
            let dy = MeanSquaredError.gradient(prediction: y, target: output, elements: y.count)
            _ = block.backward(tape, outputGradient: dy, rope: rope)
            trainingWindow = Communicator.wallTime - t
        }
        // Every rank's two measurements, in rank order, on every rank.
        var slots = [Double](repeating: 0, count: 2 * comm.size)
        slots[2 * comm.rank] = forward
        slots[2 * comm.rank + 1] = trainingWindow
        if comm.size > 1 { slots = try comm.allreduceSum(slots) }

        let passes: Int = switch method {
        case .shortgpt, .streamline: blocks
        // Round r scores every remaining candidate with a forward over the remaining blocks.
        // (the prefix once, then the suffix after each of the n − 2 candidates: n + (n−2)(n−1)/2).
        case .sleb: (0..<count).reduce(0) { total, r in total + (blocks - r) + (blocks - r - 2) * (blocks - r - 1) / 2 }
        }
        let layer = block.parameterTensors.map(\.count).reduce(0, +)
        let modelBytes = blocks * layer * 4
        let state = tokens * shape.hiddenSize * 4
        let qWidth = shape.heads * shape.headDim, kvWidth = shape.kvHeads * shape.headDim
        let tapeBytes = 4 * tokens * (4 * shape.hiddenSize + 2 * qWidth + 2 * kvWidth + qWidth + 3 * shape.intermediateSize)
            + 4 * tokens * tokens
        let steps = training.map { $0.stepsPerEpoch(windows: windows.count) * $0.epochs }
        var perRank: [DepthEstimate.Rank] = []
        for r in 0..<comm.size {
            let held = windowShare(count: windows.count, ranks: comm.size, rank: r).count
            let heldValidation = training == nil ? 0 : windowShare(count: validationWindows, ranks: comm.size, rank: r).count
            let workers = min(threads, max(held, 1))
            // ShortGPT walks all its windows block by block (two states each); SLEB keeps the
            // embedded windows and two states per worker, plus the embedding and head; streamline
            // the embedded windows and one window's L + 1 states per worker.
            let hidden = switch method {
            case .shortgpt: 2 * held * state
            case .sleb: (held + 2 * workers) * state
                + (architecture.tiedEmbeddings ? 1 : 2) * architecture.vocabularySize * shape.hiddenSize * 4
            case .streamline: (held + workers * (blocks + 1)) * state
            }
            var trainingBytes = 0
            var seconds = Double(passes) * Double(held) * slots[2 * r] / Double(workers)
            if let training, let steps {
                // Every training pair on every rank; a rank computes its share of each batch.
                let batchHeld = windowShare(count: training.batch, ranks: comm.size, rank: r).count
                trainingBytes = 2 * (windows.count + heldValidation) * state  // h_b and h_{b+n}
                    + layer * 4 * (1 + 2 + 1 + batchHeld)                      // layer, moments, best, gradient terms
                    + layer * 8                                                // float64 gradient sum
                    + min(threads, max(batchHeld, 1)) * tapeBytes
                // A step waits for the largest share of a batch: ⌈batch / ranks⌉ windows.
                let share = Double((training.batch + comm.size - 1) / comm.size)
                seconds += Double(steps) * share * slots[2 * r + 1] / Double(min(threads, max(Int(share), 1)))
                    + Double(training.epochs + 1) * Double(heldValidation) * slots[2 * r] / Double(max(1, min(threads, heldValidation)))
            }
            perRank.append(.init(rank: r, windows: held, trainingWindows: training == nil ? 0 : windows.count, validationWindows: heldValidation,
                                 modelBytes: modelBytes, hiddenStateBytes: hidden, trainingBytes: trainingBytes,
                                 memoryBoundBytes: modelBytes + hidden + trainingBytes, seconds: seconds))
        }
        return DepthEstimate(method: method.rawValue, removeBlocks: count, replacement: replacement?.rawValue, ranks: comm.size,
                             threadsPerRank: threads, calibrationWindows: windows.count, seqlen: tokens, blockPassesPerWindow: passes,
                             measuredForwardSeconds: slots[0], measuredTrainingWindowSeconds: training == nil ? nil : slots[1],
                             training: training, trainingSteps: steps, stepsPerEpoch: training.map { $0.stepsPerEpoch(windows: windows.count) },
                             layerParameters: replacement == .layer ? layer : nil,
                             wallSeconds: perRank.map(\.seconds).max() ?? 0, perRank: perRank)
    }
}
