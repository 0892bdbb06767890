import Checkpoint
import Foundation
import MPIKit
import Model
import Tokenizer

/// "Perplexity of a checkpoint on a text", written once for `eval`, `compare`, `prune --eval` and
/// every `sweep` cell (issue 23 item 2): the text tokenized on rank 0 with a model's tokenizer, the
/// window length's default, and either one model alone (`DistributedPerplexity`) or two side by
/// side in one pass (`DistributedDivergence`, whose perplexities are each model's alone, bit for
/// bit). The protocol itself is docs/algorithms.md §11 and docs/design.md §6.
public struct PerplexityRun {
    public let comm: Communicator
    /// The evaluated token stream on rank 0 (ignored elsewhere): `tokenize`, or pre-tokenized ids.
    public let tokens: [Int]
    /// Where the tokens came from, for messages and errors.
    public let dataName: String
    /// Window length; nil: `defaultLength` of the models evaluated.
    public let seqlen: Int?
    /// Only the first K windows.
    public let maxWindows: Int?

    public init(comm: Communicator, tokens: [Int], dataName: String, seqlen: Int?, maxWindows: Int?) {
        self.comm = comm
        self.tokens = tokens
        self.dataName = dataName
        self.seqlen = seqlen
        self.maxWindows = maxWindows
    }

    /// `file` as one string through the tokenizer of `directory`, on rank 0; empty elsewhere, where
    /// neither the text nor the tokenizer is needed (rank 0 broadcasts the evaluated windows).
    public static func tokenize(file: String, tokenizerOf directory: URL, comm: Communicator) throws -> [Int] {
        guard comm.rank == 0 else { return [] }
        let tokenizer = try Tokenizer.load(directory: directory)
        return tokenizer.encode(try readTextFile(URL(fileURLWithPath: file))).map(Int.init)
    }

    /// min(2048, max_position_embeddings) over the models evaluated together.
    public static func defaultLength(_ architectures: [Architecture]) -> Int {
        min(2048, architectures.map(\.maxPositions).min() ?? 2048)
    }

    /// One model.
    public func perplexity(of checkpoint: CheckpointDirectory, progress: (String) -> Void) throws -> PerplexityResult {
        let architecture = try Architecture(config: checkpoint.config)
        let evaluator = try DistributedPerplexity(comm: comm, architecture: architecture,
                                                  seqlen: seqlen ?? Self.defaultLength([architecture]))
        return try evaluator.run(source: checkpoint, tokens: tokens, maxWindows: maxWindows, dataName: dataName, progress: progress)
    }

    /// Two models window by window in one pass: both perplexities and how far `other` moved from
    /// `base` (docs/quality.md).
    public func compare(base: CheckpointDirectory, other: CheckpointDirectory, scoring: ScoredPositions = .allButFirst,
                        progress: (String) -> Void) throws -> DistributedDivergence.Result {
        let architectures = try [base, other].map { try Architecture(config: $0.config) }
        let job = try DistributedDivergence(comm: comm, base: architectures[0], other: architectures[1],
                                            seqlen: seqlen ?? Self.defaultLength(architectures), scoring: scoring)
        return try job.run(base: base, other: other, tokens: tokens, maxWindows: maxWindows, dataName: dataName, progress: progress)
    }
}
