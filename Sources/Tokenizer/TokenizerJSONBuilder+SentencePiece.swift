/// Merges for a SentencePiece BPE vocabulary that comes without them (LLaMA-1/2 GGUF files hold
/// only pieces and scores). SentencePiece's BPE repeatedly joins the adjacent pair whose
/// concatenation is the highest-scoring piece; a rank table expresses that by listing, for each
/// piece in descending score, every split of it into two pieces — the method of transformers'
/// `SentencePieceExtractor` and its GGUF converter.
///
/// Choices (documented, since they are ours): only normal pieces (type 1) are formed or used
/// as halves, because SentencePiece never merges into or out of control, unknown or byte pieces;
/// ties in score go to the lower piece id, and the splits of one piece are ordered by the ids of
/// their halves (left, then right). Where two different pairs of equal score compete, HF's rank
/// table and SentencePiece may then pick differently; LLaMA scores are distinct per piece.
extension TokenizerJSONBuilder {
    static func deriveMerges(tokens: [String], tokenTypes: [Int], scores: [Float]) -> [(String, String)] {
        var normalID: [String: Int] = [:]
        for (id, token) in tokens.enumerated() where tokenTypes[id] == GGUFTokenType.normal { normalID[token] = id }
        var candidates: [(score: Float, merged: Int, left: Int, right: Int, pair: (String, String))] = []
        for (merged, token) in tokens.enumerated() where tokenTypes[merged] == GGUFTokenType.normal {
            let scalars = Array(token.unicodeScalars)
            guard scalars.count > 1 else { continue }
            for cut in 1..<scalars.count {
                let left = String(String.UnicodeScalarView(scalars[..<cut]))
                let right = String(String.UnicodeScalarView(scalars[cut...]))
                if let l = normalID[left], let r = normalID[right] {
                    candidates.append((scores[merged], merged, l, r, (left, right)))
                }
            }
        }
        candidates.sort { a, b in
            if a.score != b.score { return a.score > b.score }
            if a.merged != b.merged { return a.merged < b.merged }
            return (a.left, a.right) < (b.left, b.right)
        }
        return candidates.map(\.pair)
    }
}
