import ArgumentParser
import Checkpoint
import Evaluation
import Foundation
import MPIKit
import Model

/// `owlprune compare A B` end to end (issue 23 item 2): both checkpoints' sparsity (rank 0) and,
/// with a text, both perplexities and B's divergence from A in one `PerplexityRun` pass.
package struct CompareRun {
    package var first: String
    package var second: String
    package var data: String?
    package var seqlen: Int?
    package var maxWindows: Int?
    /// llama-perplexity's scoring (the second half of each window) instead of owlprune's.
    package var llamaCppScoring: Bool

    package init(first: String, second: String, data: String?, seqlen: Int?, maxWindows: Int?, llamaCppScoring: Bool) {
        self.first = first
        self.second = second
        self.data = data
        self.seqlen = seqlen
        self.maxWindows = maxWindows
        self.llamaCppScoring = llamaCppScoring
    }

    /// One model's side of the comparison.
    package struct Side: Codable {
        package var path: String
        package var summary: SparsitySummary
        package var perplexity: PerplexityResult?
    }

    /// What rank 0 gets back: both sides, and with a text how B differs from A.
    package struct Outcome {
        package var sides: [Side]
        package var divergence: DistributedDivergence.Result?
    }

    /// Runs on every rank of `comm`; rank 0 returns the outcome, the others nil.
    package func run(comm: Communicator, events: @escaping RunEvents) throws -> Outcome? {
        let say = reportingRank(of: comm, events)
        let checkpoints = try [first, second].map { try CheckpointDirectory(url: URL(fileURLWithPath: $0)) }
        var sides = try zip([first, second], checkpoints).map { path, checkpoint in
            Side(path: path, summary: comm.rank == 0 ? try SparsitySummary(directory: checkpoint) : SparsitySummary(tensors: []))
        }
        var divergence: DistributedDivergence.Result? = nil
        if let data {
            let architectures = try checkpoints.map { try Architecture(config: $0.config) }
            // The pair first (the more useful line when both are wrong), then each model's tensors.
            guard architectures[0].vocabularySize == architectures[1].vocabularySize else {
                throw ValidationError("\(first) has a vocabulary of \(architectures[0].vocabularySize) tokens, \(second) of "
                                      + "\(architectures[1].vocabularySize): comparing their next-token distributions needs one vocabulary")
            }
            for (architecture, checkpoint) in zip(architectures, checkpoints) { try architecture.validateModelTensors(in: checkpoint) }
            let tokens = try PerplexityRun.tokenize(file: data, tokenizerOf: checkpoints[0].url, comm: comm)
            let result = try PerplexityRun(comm: comm, tokens: tokens, dataName: data, seqlen: seqlen, maxWindows: maxWindows)
                .compare(base: checkpoints[0], other: checkpoints[1], scoring: llamaCppScoring ? .secondHalf : .allButFirst,
                         progress: { say(.progress($0)) })
            sides[0].perplexity = result.base
            sides[1].perplexity = result.other
            divergence = result
        }
        return comm.rank == 0 ? Outcome(sides: sides, divergence: divergence) : nil
    }
}
