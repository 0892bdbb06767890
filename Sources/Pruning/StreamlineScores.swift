import Tensor

/// LLM-Streamline's choice of the run of blocks to replace (Chen et al., ICLR 2025;
/// RUCKBReasoning/LLM-Streamline `LLM_Streamline/get_cosine.py`). For a run of n blocks starting
/// at j, the score is the mean over calibration tokens of 0.5 + 0.5·cos(h_j, h_{j+n}), h_j the
/// hidden state entering block j of the dense model; the highest score wins. Pure functions over
/// hidden states gathered elsewhere, split into a per-window term (computed on any rank) and a
/// fold in window order, which makes the float64 sums — and the choice — the same for any rank
/// count.
///
/// What the authors' code does, and what is kept:
/// - `get_cos_similar_matrix` forms the full tokens × tokens cosine matrix and takes its trace
///   over the token count: only the diagonal, i.e. the per-token cosine of the same position, is
///   used. Here only the diagonal is computed, each dot product and norm a float64 sum in index
///   order over the float32 states.
/// - `res[torch.isinf(res)] = 0` sets an undefined cosine to 0 (a zero state gives 0/0, which is
///   NaN in torch and slips past that line; a zero hidden state does not occur in a real model).
///   Here any zero-norm pair counts as cosine 0, so its term is 0.5, the intent of that line.
/// - Scores are averaged per sample, then over samples (`average_similarity`); every sample has
///   the same length (2048 tokens, `group_texts`), so that is the mean over all tokens, which is
///   what is computed here for windows of any length.
/// - `torch.argmax` returns the first maximum: ties go to the lowest start.
public struct StreamlineScores: Sendable, Equatable, Codable {
    /// Blocks in the run (the n = K + 1: K blocks fewer after one layer replaces the run).
    public let span: Int
    /// Per start j = 0 … blocks − span: Σ over the tokens seen so far of 0.5 + 0.5·cos, float64.
    public private(set) var sums: [Double]
    public private(set) var tokens: Int

    public init(blocks: Int, span: Int) {
        precondition(span >= 1 && span <= blocks, "streamline: a run of \(span) blocks in a model of \(blocks)")
        self.span = span
        sums = [Double](repeating: 0, count: blocks - span + 1)
        tokens = 0
    }

    /// One window's term, computed wherever the window lives: for each start j, Σ over its
    /// tokens of 0.5 + 0.5·cos(h_j, h_{j+span}). `states[j]` is the hidden state entering block j
    /// (tokens × hidden) for j = 0 … blocks, `states[blocks]` the output of the last block.
    public static func term(window states: [Matrix], span: Int) -> [Double] {
        precondition(span >= 1 && states.count > span, "streamline: \(states.count) hidden states for runs of \(span)")
        return (0..<(states.count - span)).map { similaritySum(states[$0], states[$0 + span]) }
    }

    /// Folds one window's term into the sums. Terms must come in window order (the fold of the
    /// window-order chain, Cluster/WindowOrderChain.swift): then the sums are the same bits
    /// whichever rank computed which term.
    public mutating func add(term: [Double], tokens count: Int) {
        precondition(term.count == sums.count, "streamline: a term of \(term.count) starts for \(sums.count)")
        for j in sums.indices { sums[j] += term[j] }
        tokens += count
    }

    /// Computes and folds one window (a single-process convenience).
    public mutating func add(window states: [Matrix]) {
        add(term: Self.term(window: states, span: span), tokens: states[0].rows)
    }

    /// Mean score of each start (nil before any token was added).
    public var scores: [Double]? {
        tokens > 0 ? sums.map { $0 / Double(tokens) } : nil
    }

    /// The start of the best run: the highest mean score, the lowest start among equals.
    public var best: Int? {
        guard let s = scores else { return nil }
        var bestIndex = 0
        for j in s.indices where s[j] > s[bestIndex] { bestIndex = j }
        return bestIndex
    }

    /// Σ over rows t of 0.5 + 0.5·cos(a_t, b_t), in row order, float64.
    public static func similaritySum(_ a: Matrix, _ b: Matrix) -> Double {
        RowCosine.sum(a, b) { dot, normA, normB in
            let denominator = normA * normB
            return 0.5 + 0.5 * (denominator > 0 ? dot / denominator : 0)
        }
    }
}
