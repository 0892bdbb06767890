/// Which positions of a window are scored. owlprune's protocol (docs/algorithms.md §11.1) scores
/// every token after the first; llama-perplexity scores only the second half of each chunk
/// (`first = n_ctx/2`, tokens `first+1 … n_ctx−1`) so every scored token has at least half a
/// window of context. The second mode exists so owlprune's numbers can be checked against
/// llama.cpp's for the same windows.
public enum ScoredPositions: String, Codable, Sendable, CaseIterable {
    case allButFirst = "owlprune"
    case secondHalf = "llama.cpp"

    /// The positions whose logits are scored; position t predicts token t+1.
    public func predicting(seqlen: Int) -> Range<Int> {
        switch self {
        case .allButFirst: 0..<(seqlen - 1)
        case .secondHalf: (seqlen / 2)..<(seqlen - 1)
        }
    }
}
