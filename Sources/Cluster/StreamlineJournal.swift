import Checkpoint
import Diagnostics
import Distribution
import Foundation
import MPIKit
import Model
import Pruning
import Tensor

/// The resume journal of `--replacement layer`'s training (issue 24 item 4; docs/algorithms.md
/// "LLM-Streamline: resuming a training"): `OUT.streamline-training/` beside the output holds
/// `run.json` (the `RunFingerprint` of everything that decides the trained bits) and, once a step
/// has finished, `state.safetensors`: the layer's parameters, the best state so far, AdamW's two
/// moments (float32, as trained) and, in the file's metadata, the step count, AdamW's step, the
/// kept epoch and the training log so far. The sampling state needs no saving: the windows of
/// step s of epoch e are a pure function of the seed, e and s (`StreamlineTrainingSettings.order`).
///
/// Rank 0 rewrites the state after every finished step (after the epoch's validation at an
/// epoch's last step) into a temporary file renamed over the old one, so a reader sees one whole
/// state or the previous one. Its float32 values carry an FNV-1a checksum; a state that fails it
/// (a machine crash lost page-cache data) is ignored and training starts from the first step.
/// The state is identical on every rank, so a run may resume on another rank count: rank 0 reads
/// it and broadcasts it. Its own directory, not the block journal's `OUT.partial/`, because a
/// `--remove-by streamline` run also has the block journal's binding and cleanup.
///
/// Cost: 4 × the layer's float32 size per write (SmolLM2-135M: 4 × 14 MB; a 7B block: 4 × 0.8 GB).
public struct StreamlineJournal: Sendable {
    public let directory: URL
    public static let stateFileName = "state.safetensors"
    static let metadataKey = "owlprune.streamline_training"
    /// Bumped when what a journaled state means changes.
    public static let format = 1

    public init(directory: URL) { self.directory = directory }

    public static func directory(forOutput out: URL) -> URL {
        URL(fileURLWithPath: out.standardizedFileURL.path + ".streamline-training")
    }

    var stateURL: URL { directory.appendingPathComponent(Self.stateFileName) }

    /// What decides the trained bits: the training settings, K, the calibration and held-out
    /// windows, the input's identity (not the rank or thread count: the layer is the same bits).
    public static func fingerprint(settings s: StreamlineTrainingSettings, count: Int, windows: CalibrationWindows,
                                   validation: CalibrationWindows, checkpoint: CheckpointDirectory) throws -> RunFingerprint {
        var list: [(String, String)] = [
            ("owlprune", "\(PruneReport.toolVersion) (streamline training journal format \(format))"),
            ("--remove-blocks", "\(count)"),
            ("--train-epochs", "\(s.epochs)"),
            ("--train-batch", "\(s.batch)"),
            ("--train-lr", "\(s.learningRate) (minimum \(s.minimumLearningRate), weight decay \(s.weightDecay), clip \(s.maxGradientNorm))"),
            ("--train-heldout-windows", "\(validation.count) × \(validation.length) tokens, hash \(validation.hash)"),
            ("calibration windows", "\(windows.count) × \(windows.length) tokens, hash \(windows.hash)"),
            ("--seed", "\(s.seed)"),
        ]
        list += try RunFingerprint.checkpointFields(checkpoint)
        return RunFingerprint(fields: list.map { RunFingerprint.Field(name: $0.0, value: $0.1) })
    }

    /// The training journal's binding to its run (`JournalBinding`; rank 0, before the model is
    /// read): its finished work is the step its state records.
    public static let binding = JournalBinding(kind: "training journal", freshStart: "training from the first step") { directory in
        StreamlineJournal(directory: directory).journaledStep.map { "training step \($0)" }
    }

    /// The step a journaled state records (nil: none, or unreadable), from its header alone.
    public var journaledStep: Int? {
        guard let file = try? SafetensorsFile(url: stateURL), let json = file.metadata[Self.metadataKey],
              let header = try? JSONDecoder().decode(Header.self, from: Data(json.utf8)) else { return nil }
        return header.step
    }

    /// After success (the output is in place): the journal is removed.
    public static func remove(_ directory: URL) {
        try? FileManager.default.removeItem(at: directory)
    }

    /// The training's state after `step` finished steps.
    public struct State {
        public var step: Int
        /// Block b's index: a journal of another run start is not this training's.
        public var start: Int
        public var parameters: [[Float]]
        public var best: [[Float]]
        public var bestEpoch: Int
        public var optimizer: AdamW
        public var log: StreamlineTrainingLog
    }

    /// The scalar part, in the file's metadata.
    struct Header: Codable {
        var step: Int
        var start: Int
        var sizes: [Int]
        var bestEpoch: Int
        var adamStep: Int
        var beta1: Double, beta2: Double, epsilon: Double, weightDecay: Double
        var checksum: String
        var log: StreamlineTrainingLog
    }

    static func checksum(_ groups: [[[Float]]]) -> String {
        var h = FNV1a()
        for group in groups {
            for tensor in group {
                h.combine(word: UInt64(tensor.count))
                for x in tensor { h.combine(word: UInt64(x.bitPattern)) }
            }
        }
        return h.hex
    }

    static let groups = ["parameters", "best", "adam_m", "adam_v"]

    /// Rank 0: writes `state` atomically (temporary file, then rename over the previous one).
    public func record(_ state: State) throws {
        let o = state.optimizer
        let groups = [state.parameters, state.best, o.firstMoment, o.secondMoment]
        let header = Header(step: state.step, start: state.start, sizes: state.parameters.map(\.count), bestEpoch: state.bestEpoch,
                            adamStep: o.step, beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon, weightDecay: o.weightDecay,
                            checksum: Self.checksum(groups), log: state.log)
        let json = String(decoding: try JSONEncoder().encode(header), as: UTF8.self)
        var entries: [SafetensorsWriter.Entry] = []
        for (g, group) in groups.enumerated() {
            for (t, tensor) in group.enumerated() {
                entries.append(.init(name: "\(Self.groups[g]).\(t)", dtype: .f32, shape: [tensor.count]))
            }
        }
        let writer = try SafetensorsWriter(url: stateURL, entries: entries, metadata: [Self.metadataKey: json], durable: false)
        for (g, group) in groups.enumerated() {
            for (t, tensor) in group.enumerated() {
                try tensor.withUnsafeBytes { try writer.write("\(Self.groups[g]).\(t)", rawBuffer: $0) }
            }
        }
        try writer.finish()
    }

    /// The journaled state on every rank (rank 0 reads, then broadcasts), or nil when there is
    /// none or it does not fit this training (`start`, the parameter sizes, the step count) or
    /// fails its checksum; rank 0 then says why in `note`.
    public func load(comm: Communicator, start: Int, sizes: [Int], totalSteps: Int, note: (String) -> Void) throws -> State? {
        var json: [UInt8] = [], values: [Float] = []
        if comm.rank == 0, FileManager.default.fileExists(atPath: stateURL.path) {
            if let (header, floats) = readChecked(start: start, sizes: sizes, totalSteps: totalSteps) {
                json = Array(try JSONEncoder().encode(header))
                values = floats
            } else {
                note("the training journal \(stateURL.path) is damaged or not this training's; training from the first step")
            }
        }
        if comm.size > 1 {
            json = try comm.broadcast(json, root: 0)
            values = try comm.broadcast(values, root: 0)
        }
        guard !json.isEmpty else { return nil }
        let header = try JSONDecoder().decode(Header.self, from: Data(json))
        let total = sizes.reduce(0, +)
        precondition(values.count == 4 * total, "streamline journal: broadcast state has the wrong size")
        var offset = 0
        var groups: [[[Float]]] = []
        for _ in Self.groups {
            groups.append(sizes.map { n in
                defer { offset += n }
                return Array(values[offset..<(offset + n)])
            })
        }
        let optimizer = AdamW(restoring: header.adamStep, firstMoment: groups[2], secondMoment: groups[3], weightDecay: header.weightDecay,
                              beta1: header.beta1, beta2: header.beta2, epsilon: header.epsilon)
        return State(step: header.step, start: header.start, parameters: groups[0], best: groups[1], bestEpoch: header.bestEpoch,
                     optimizer: optimizer, log: header.log)
    }

    /// Rank 0: the header and the four groups flattened, if the file is whole and fits.
    private func readChecked(start: Int, sizes: [Int], totalSteps: Int) -> (Header, [Float])? {
        guard let file = try? SafetensorsFile(url: stateURL), let text = file.metadata[Self.metadataKey],
              let header = try? JSONDecoder().decode(Header.self, from: Data(text.utf8)),
              header.start == start, header.sizes == sizes, header.step >= 1, header.step <= totalSteps,
              header.log.steps.count == header.step, header.bestEpoch < header.log.validationLoss.count else { return nil }
        var groups: [[[Float]]] = []
        for name in Self.groups {
            var group: [[Float]] = []
            for (t, n) in sizes.enumerated() {
                guard let info = file.info("\(name).\(t)"), info.dtype == .f32, info.shape == [n],
                      let tensor = try? file.withRawBytes("\(name).\(t)", { raw -> [Float] in
                          var values = [Float](repeating: 0, count: n)
                          values.withUnsafeMutableBytes { $0.copyMemory(from: raw) }
                          return values
                      }) else { return nil }
                group.append(tensor)
            }
            groups.append(group)
        }
        guard Self.checksum(groups) == header.checksum else { return nil }
        return (header, groups.flatMap { $0.flatMap { $0 } })
    }
}
