import Tensor

/// The token embedding (rank 0 of a pipeline).
public struct Embedding: Sendable {
    public let table: Matrix  // vocabulary × hidden

    public init(table: Matrix) { self.table = table }

    public func callAsFunction(_ tokens: [Int]) throws -> Matrix {
        for id in tokens where id < 0 || id >= table.rows {
            throw ModelError.tokenOutOfRange(id: id, vocabulary: table.rows)
        }
        return table.gatherRows(tokens)
    }
}

/// Final RMSNorm and the language-model head (the last rank of a pipeline). With tied embeddings
/// the head's weight is the embedding table itself (`tie_word_embeddings`).
public struct OutputHead: Sendable {
    public let norm: [Float]
    public let weight: Matrix  // vocabulary × hidden
    public let epsilon: Float

    public init(norm: [Float], weight: Matrix, epsilon: Float) {
        self.norm = norm
        self.weight = weight
        self.epsilon = epsilon
    }

    public func logits(_ h: Matrix) -> Matrix {
        h.rmsNormalized(weight: norm, epsilon: epsilon).linear(weight)
    }

    /// NLL of tokens 1…L-1 of one window given its prefix (docs/algorithms.md §11.1 step 5), in float32,
    /// processed in row chunks so the logits buffer stays small (a 49k vocabulary × 2048 tokens
    /// would otherwise be 400 MB).
    public func windowNLL(hidden: Matrix, tokens: [Int], chunk: Int = 256) -> [Float] {
        precondition(hidden.rows == tokens.count, "windowNLL: \(hidden.rows) hidden rows for \(tokens.count) tokens")
        var out: [Float] = []
        out.reserveCapacity(tokens.count - 1)
        var start = 0
        let scored = tokens.count - 1
        while start < scored {
            let end = min(start + chunk, scored)
            var logits = self.logits(hidden.rows(start..<end))
            out += CrossEntropy.negativeLogLikelihoods(logits: &logits, targets: Array(tokens[(start + 1)...end]))
            start = end
        }
        return out
    }
}
