import Cluster
import Distribution
import Foundation
import MPIKit
import Model
import Tensor

/// Perplexity with the model split over the ranks of `comm` (docs/design.md §1, `owlprune eval`).
///
/// Rank 0 holds the token stream and broadcasts the evaluated windows; windows then stream through
/// the pipeline; the last rank scores each window with the final norm and head and sums the NLL in
/// window order. The sum is broadcast back so every rank returns the same result.
public struct DistributedPerplexity {
    public let comm: Communicator
    public let architecture: Architecture
    public let seqlen: Int

    public init(comm: Communicator, architecture: Architecture, seqlen: Int) throws {
        guard seqlen >= 2 else { throw EvaluationError.badArgument("--seqlen \(seqlen) must be at least 2") }
        guard seqlen <= architecture.maxPositions else {
            throw EvaluationError.seqlenTooLong(seqlen: seqlen, maxPositions: architecture.maxPositions)
        }
        self.comm = comm
        self.architecture = architecture
        self.seqlen = seqlen
    }

    /// - Parameter tokens: the whole token stream on rank 0 (ignored elsewhere).
    public func run(source: some WeightSource, tokens: [Int], maxWindows: Int?, dataName: String,
                    progress: (String) -> Void) throws -> PerplexityResult {
        let start = Communicator.wallTime
        let windowTokens = try shareWindows(tokens: tokens, maxWindows: maxWindows, dataName: dataName)
        let windows = windowTokens.count / seqlen
        // The same layout as a prune's blocks split: one partition rule for shards and pipeline stages.
        let layout = try RankLayout(blocks: architecture.blockCount, parameterCountPerBlock: architecture.shape.parameterCount,
                                    windows: windows, ranks: comm.size)
        let slice = try ModelSlice.load(from: source, architecture: architecture, blocks: layout.blockRanges[comm.rank],
                                        withEmbedding: comm.rank == 0, withHead: comm.rank == comm.size - 1,
                                        positions: seqlen)
        func window(_ w: Int) -> [Int] { Array(windowTokens[(w * seqlen)..<((w + 1) * seqlen)]) }

        var nllSum = 0.0
        let pipeline = Pipeline(comm: comm, rowsPerWindow: seqlen, width: architecture.shape.hiddenSize)
        let computeStart = Communicator.wallTime
        _ = try pipeline.run(
            windows: windows,
            produce: { w in
                if w > 0 {
                    let elapsed = Communicator.wallTime - computeStart
                    let rate = Double(w * seqlen) / elapsed
                    let eta = Double((windows - w) * seqlen) / rate
                    progress(String(format: "eval: window %d/%d, %.0f tokens/s, ETA %.0f s", w + 1, windows, rate, eta))
                }
                return try slice.embedding!(window(w))
            },
            process: { _, h in slice.forward(h) },
            consume: { w, h in
                for nll in slice.head!.windowNLL(hidden: h, tokens: window(w)) { nllSum += Double(nll) }
            })
        nllSum = try comm.broadcast(value: nllSum, root: comm.size - 1)
        let seconds = Communicator.wallTime - start
        let scored = windows * (seqlen - 1)
        return PerplexityResult(
            perplexity: PerplexityProtocol.perplexity(nllSum: nllSum, scoredTokens: scored),
            nllSum: nllSum, tokensScored: scored, windows: windows, seqlen: seqlen, ranks: comm.size,
            tokensPerSecond: Double(windows * seqlen) / (Communicator.wallTime - computeStart), seconds: seconds)
    }

    /// Rank 0 cuts the windows and broadcasts their tokens, so no other rank needs the text or
    /// the tokenizer.
    private func shareWindows(tokens: [Int], maxWindows: Int?, dataName: String) throws -> [Int] {
        var ids: [Int] = []
        if comm.rank == 0 {
            let n = try PerplexityProtocol.windowCount(tokens: tokens.count, seqlen: seqlen, maxWindows: maxWindows,
                                                       file: dataName)
            ids = Array(tokens.prefix(n * seqlen))
        }
        return try comm.broadcast(ids, root: 0)
    }
}
