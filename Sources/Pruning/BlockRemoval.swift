import Tensor

/// Structured depth pruning (issue 12 item 6): which whole decoder blocks to drop. Pure selection
/// rules over scores gathered elsewhere (`Cluster/DepthSearch.swift` runs the forward passes).
public enum BlockRemovalMethod: String, Sendable, Codable, CaseIterable {
    /// ShortGPT (Men et al. 2024): drop the K blocks of lowest Block Influence, in one shot on the dense model.
    case shortgpt
    /// SLEB (Song et al. 2024): K greedy rounds, each dropping the block whose removal gives the
    /// lowest calibration NLL of the model that remains.
    case sleb
    /// LLM-Streamline (Chen et al., ICLR 2025): the contiguous run of K + 1 blocks whose input and
    /// output are most alike is replaced by one block (`StreamlineReplacement` says which), so K
    /// blocks go (`StreamlineScores`, docs/algorithms.md "LLM-Streamline").
    case streamline
}

/// What a depth search chose, for the plan, the report and the table on screen. Keys are single
/// words, so the plan's, the report's and snake_case coders all spell them the same.
public struct BlockRemovalResult: Codable, Sendable, Equatable {
    public var method: String
    /// Original indices, in the order they were chosen (SLEB's rounds; ShortGPT: ascending).
    public var removed: [Int]
    /// Original indices of the blocks that remain, ascending (output block j is `kept[j]`).
    public var kept: [Int]
    /// Per original block: ShortGPT's Block Influence; SLEB's first-round calibration perplexity
    /// with that block removed (nil for the blocks SLEB never considers, the first and the last).
    public var scores: [Double?]
    /// SLEB only: per round, the calibration perplexity with each candidate removed (nil elsewhere).
    public var rounds: [[Double?]]?
    /// Streamline only: the chosen run [first, last] of K + 1 original blocks (nil elsewhere).
    /// Its `scores` are then per run start j (nil past the last start L − K − 1).
    public var run: [Int]?
    /// Streamline only: what stands in for the run (`StreamlineReplacement`).
    public var replacement: String?

    public init(method: String, removed: [Int], kept: [Int], scores: [Double?], rounds: [[Double?]]?,
                run: [Int]? = nil, replacement: String? = nil) {
        self.method = method
        self.removed = removed
        self.kept = kept
        self.scores = scores
        self.rounds = rounds
        self.run = run
        self.replacement = replacement
    }
}

public enum BlockInfluence {
    /// Σ over the window's tokens, in token order and in float64, of cos(x_t, y_t) between row t of
    /// the block's input `x` and output `y` (the hidden states before and after the block).
    ///
    /// icip-cas/ShortGPT `shortgpt/metrics.py: block_influence` computes the per-token cosine
    /// `(x·y)/(‖x‖‖y‖)` and replaces NaN (a zero vector) by 0.5 (`nan_to_num(nan=0.5)`); the same
    /// rule applies here. The reference works in the model's fp16; here each product and norm
    /// is a float64 sum over the hidden dimension, in index order, of the float32 states.
    public static func cosineSum(input x: Matrix, output y: Matrix) -> Double {
        RowCosine.sum(x, y) { dot, normX, normY in
            let cosine = dot / (normX * normY)
            return cosine.isNaN ? 0.5 : cosine
        }
    }

    /// BI = 1 − (Σ cosines) / tokens (the "1 − mean cosine"). The reference sums 1 − cos
    /// over tokens (`ShortGPT.compute_bi`: `importances[i] += block_influence(...).sum()`), which
    /// orders blocks the same way, since every block sees the same tokens.
    public static func score(cosineSum: Double, tokens: Int) -> Double { 1 - cosineSum / Double(tokens) }

    /// The `count` blocks of lowest score, in ascending block order. icip-cas/ShortGPT
    /// `ShortGPT.remove_layers` takes `np.argsort(importances)[:n]`; ties (equal float64 scores)
    /// go to the lower block index here, so the choice never depends on a sort's stability.
    public static func lowest(_ scores: [Double], count: Int) -> [Int] {
        let order = scores.indices.sorted { (scores[$0], $0) < (scores[$1], $1) }
        return Array(order.prefix(count)).sorted()
    }
}

public enum SLEBSearch {
    /// jiwonsong-dev/SLEB `sleb.py: sleb(early_barrier=1, latter_barrier=1)`: in every round the
    /// candidates are the alive blocks at positions `early … alive.count − latter − 1`
    /// (`for j in range(early_barrier, search_bound - latter_barrier)`), so the first and last
    /// alive blocks are never removed.
    public static let earlyBarrier = 1
    public static let latterBarrier = 1

    /// Alive blocks that may be removed this round (original indices, ascending).
    public static func candidates(alive: [Int]) -> [Int] {
        let end = alive.count - latterBarrier
        return end > earlyBarrier ? Array(alive[earlyBarrier..<end]) : []
    }

    /// The most blocks SLEB can remove from `blocks` (each round needs one candidate).
    public static func maxRemovable(blocks: Int) -> Int { max(0, blocks - earlyBarrier - latterBarrier) }

    /// The candidate with the lowest loss; the first one on ties (`if loss < min_loss` in
    /// `sleb.py`, candidates in ascending position).
    public static func pick(losses: [Double]) -> Int {
        var best = 0
        for i in losses.indices.dropFirst() where losses[i] < losses[best] { best = i }
        return best
    }
}
