import Foundation

public enum EvaluationError: Error, LocalizedError {
    case textTooShort(file: String, tokens: Int, seqlen: Int)
    case seqlenTooLong(seqlen: Int, maxPositions: Int)
    case badArgument(String)

    public var errorDescription: String? {
        switch self {
        case let .textTooShort(f, t, l):
            "\(f) tokenizes to only \(t) tokens, fewer than one window of --seqlen \(l)"
        case let .seqlenTooLong(l, m):
            "--seqlen \(l) exceeds the model's max_position_embeddings \(m)"
        case let .badArgument(what): what
        }
    }
}
