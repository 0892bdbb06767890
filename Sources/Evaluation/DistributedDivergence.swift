import Cluster
import Distribution
import Foundation
import MPIKit
import Model
import Tensor

/// KL divergence, top-token agreement and Δp of a model Q against its base B on a text, both
/// models split over the ranks of `comm` the way `DistributedPerplexity` splits one
/// (docs/quality.md). No vocabulary-sized logits are kept: windows go through B's pipeline in
/// batches, the last rank keeps only B's final hidden states of the scored positions, then the
/// same windows go through Q's pipeline and the last rank recomputes B's logits beside Q's, a few
/// hundred rows at a time. Every token is compared and accumulated on the last rank in window
/// and token order, so the result is the same bits for any rank count.
public struct DistributedDivergence {
    public let comm: Communicator
    public let base: Architecture
    public let other: Architecture
    public let seqlen: Int
    public let scoring: ScoredPositions
    /// Threads comparing rows of logits on the last rank (results do not depend on it).
    public let workers: Int
    /// Budget for B's cached hidden states per batch of windows.
    public let cacheBytes: Int

    /// Both perplexities as `owlprune eval` computes them (float32 NLLs summed in float64) over
    /// the scored positions, and the divergence statistics.
    public struct Result: Codable, Sendable, Equatable {
        public var base: PerplexityResult
        public var other: PerplexityResult
        public var scoring: ScoredPositions
        public var statistics: DivergenceStatistics
    }

    public init(comm: Communicator, base: Architecture, other: Architecture, seqlen: Int, scoring: ScoredPositions,
                workers: Int = 1, cacheBytes: Int = 256 << 20) throws {
        guard base.vocabularySize == other.vocabularySize else {
            throw EvaluationError.badArgument(
                "KL divergence needs one vocabulary: the base model has \(base.vocabularySize) tokens, the other \(other.vocabularySize)")
        }
        guard seqlen >= 4 else { throw EvaluationError.badArgument("--seqlen \(seqlen): comparing models needs at least 4 tokens per window") }
        for a in [base, other] where seqlen > a.maxPositions {
            throw EvaluationError.seqlenTooLong(seqlen: seqlen, maxPositions: a.maxPositions)
        }
        (self.comm, self.base, self.other, self.seqlen, self.scoring) = (comm, base, other, seqlen, scoring)
        self.workers = max(1, workers)
        self.cacheBytes = cacheBytes
    }

    /// - Parameter tokens: the whole token stream on rank 0 (ignored elsewhere), tokenized by B's tokenizer.
    public func run(base baseSource: some WeightSource, other otherSource: some WeightSource, tokens: [Int],
                    maxWindows: Int?, dataName: String, progress: (String) -> Void) throws -> Result {
        let start = Communicator.wallTime
        var ids: [Int] = []
        if comm.rank == 0 {
            let n = try PerplexityProtocol.windowCount(tokens: tokens.count, seqlen: seqlen, maxWindows: maxWindows, file: dataName)
            ids = Array(tokens.prefix(n * seqlen))
        }
        let windowTokens = try comm.broadcast(ids, root: 0)
        let windows = windowTokens.count / seqlen
        let isLast = comm.rank == comm.size - 1
        func slice(_ a: Architecture, _ source: some WeightSource) throws -> ModelSlice {
            let layout = try RankLayout(blocks: a.blockCount, parameterCountPerBlock: a.shape.parameterCount, windows: windows,
                                        ranks: comm.size)
            return try ModelSlice.load(from: source, architecture: a, blocks: layout.blockRanges[comm.rank],
                                       withEmbedding: comm.rank == 0, withHead: isLast, positions: seqlen)
        }
        let b = try slice(base, baseSource), q = try slice(other, otherSource)
        func window(_ w: Int) -> [Int] { Array(windowTokens[(w * seqlen)..<((w + 1) * seqlen)]) }
        let scored = scoring.predicting(seqlen: seqlen)
        let batch = max(1, cacheBytes / max(1, scored.count * base.shape.hiddenSize * MemoryLayout<Float>.size))

        var accumulator = DivergenceAccumulator()
        var nllBase = 0.0, nllOther = 0.0
        let bPipe = Pipeline(comm: comm, rowsPerWindow: seqlen, width: base.shape.hiddenSize)
        let qPipe = Pipeline(comm: comm, rowsPerWindow: seqlen, width: other.shape.hiddenSize)
        let computeStart = Communicator.wallTime
        for first in stride(from: 0, to: windows, by: batch) {
            let count = min(batch, windows - first)
            var cached: [Matrix] = []
            _ = try bPipe.run(windows: count,
                              produce: { try b.embedding!(window(first + $0)) },
                              process: { _, h in b.forward(h) },
                              consume: { _, h in cached.append(h.rows(scored)) })
            _ = try qPipe.run(
                windows: count,
                produce: { i in
                    let w = first + i
                    if w > 0 {
                        let rate = Double(w * seqlen) / (Communicator.wallTime - computeStart)
                        progress(String(format: "compare: window %d/%d, %.0f tokens/s per model, ETA %.0f s", w + 1, windows, rate,
                                        Double((windows - w) * seqlen) / rate))
                    }
                    return try q.embedding!(window(w))
                },
                process: { _, h in q.forward(h) },
                consume: { i, h in
                    let tokens = window(first + i)
                    compare(baseHidden: cached[i], otherHidden: h.rows(scored), baseHead: b.head!, otherHead: q.head!,
                            targets: Array(tokens[(scored.lowerBound + 1)...scored.upperBound]), into: &accumulator,
                            nllBase: &nllBase, nllOther: &nllOther)
                    cached[i] = Matrix(rows: 0, cols: 0)
                })
        }
        let computeSeconds = Communicator.wallTime - computeStart
        // The last rank holds the result; its JSON is the one broadcast, so every rank returns it.
        var bytes: [UInt8] = []
        if isLast {
            guard let statistics = accumulator.result() else {
                throw EvaluationError.badArgument("\(dataName): only \(accumulator.count) scored token(s); comparing needs at least 2")
            }
            let n = accumulator.count
            func perplexity(_ a: Architecture, _ sum: Double) -> PerplexityResult {
                PerplexityResult(perplexity: PerplexityProtocol.perplexity(nllSum: sum, scoredTokens: n), nllSum: sum,
                                 tokensScored: n, windows: windows, seqlen: seqlen, ranks: comm.size,
                                 tokensPerSecond: Double(2 * windows * seqlen) / computeSeconds,
                                 seconds: Communicator.wallTime - start)
            }
            let result = Result(base: perplexity(base, nllBase), other: perplexity(other, nllOther), scoring: scoring,
                                statistics: statistics)
            bytes = Array(try JSONEncoder().encode(result))
        }
        let length = try comm.broadcast(value: bytes.count, root: comm.size - 1)
        if !isLast { bytes = Array(repeating: 0, count: length) }
        bytes = try comm.broadcast(bytes, root: comm.size - 1)
        return try JSONDecoder().decode(Result.self, from: Data(bytes))
    }

    /// Both heads applied to `chunk` rows at a time; each row compared (rows spread over
    /// `workers`, results added in row order). The float32 NLLs are added to the running sums one
    /// by one as `eval` adds them (`CrossEntropy`, chunks of 256 rows from the window's start), so
    /// with owlprune's scoring a perplexity here equals `owlprune eval`'s bit for bit.
    private func compare(baseHidden: Matrix, otherHidden: Matrix, baseHead: OutputHead, otherHead: OutputHead,
                         targets: [Int], into accumulator: inout DivergenceAccumulator,
                         nllBase: inout Double, nllOther: inout Double, chunk: Int = 256) {
        var start = 0
        while start < targets.count {
            let end = min(start + chunk, targets.count)
            let bl = baseHead.logits(baseHidden.rows(start..<end)), ql = otherHead.logits(otherHidden.rows(start..<end))
            let t = Array(targets[start..<end])
            var bCopy = bl, qCopy = ql
            for x in CrossEntropy.negativeLogLikelihoods(logits: &bCopy, targets: t) { nllBase += Double(x) }
            for x in CrossEntropy.negativeLogLikelihoods(logits: &qCopy, targets: t) { nllOther += Double(x) }
            let rows = Parallel.map(end - start, workers: workers) { r in
                TokenComparison.compare(base: bl.row(r), other: ql.row(r), target: t[r])
            }
            for c in rows { accumulator.add(c) }
            start = end
        }
    }
}
