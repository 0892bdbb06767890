import Checkpoint
import Distribution
import Evaluation
import Foundation
import MPIKit
import Model

/// `owlprune eval` end to end (issue 23 item 2): the checkpoint checked, the memory check, the
/// text tokenized once on rank 0, then `PerplexityRun` with the model pipelined over the ranks —
/// the same evaluation `compare`, `prune --eval` and every sweep cell run.
package struct EvalRun {
    package var model: String
    package var data: String
    /// Window length; nil: min(2048, max_position_embeddings).
    package var seqlen: Int?
    package var maxWindows: Int?
    package var memory: MemoryOptions

    package init(model: String, data: String, seqlen: Int?, maxWindows: Int?, memory: MemoryOptions) {
        self.model = model
        self.data = data
        self.seqlen = seqlen
        self.maxWindows = maxWindows
        self.memory = memory
    }

    /// Runs on every rank of `comm`; rank 0 returns the result, the others nil.
    package func run(comm: Communicator, events: @escaping RunEvents) throws -> PerplexityResult? {
        let say = reportingRank(of: comm, events)
        let checkpoint = try CheckpointDirectory(url: URL(fileURLWithPath: model))
        let architecture = try Architecture(config: checkpoint.config)
        try architecture.validateModelTensors(in: checkpoint)
        let length = seqlen ?? PerplexityRun.defaultLength([architecture])
        if let note = architecture.slidingWindowNote(sequenceLength: length) { say(.progress("note: \(note)")) }
        let textBytes = (try? FileManager.default.attributesOfItem(atPath: data)[.size] as? Int) ?? 0
        try MemoryCheck.checkEval(architecture: architecture, comm: comm, seqlen: length, textBytes: textBytes,
                                  maxMemory: memory.maxMemoryBytes)
        let t0 = Date()
        let tokens = try PerplexityRun.tokenize(file: data, tokenizerOf: checkpoint.url, comm: comm)
        say(.progress(String(format: "eval: %@ → %d tokens in %.1f s", (data as NSString).lastPathComponent,
                             tokens.count, Date().timeIntervalSince(t0))))
        let result = try PerplexityRun(comm: comm, tokens: tokens, dataName: data, seqlen: length, maxWindows: maxWindows)
            .perplexity(of: checkpoint, progress: { say(.progress($0)) })
        return comm.rank == 0 ? result : nil
    }
}
