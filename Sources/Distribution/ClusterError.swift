import Foundation

public enum ClusterError: Error, LocalizedError {
    case moreRanksThanBlocks(ranks: Int, blocks: Int)
    case disagreement(what: String)
    case peerFailed(String)
    /// A flag whose value only the model can refute (e.g. `--remove-blocks` against num_hidden_layers).
    case badArgument(String)

    public var errorDescription: String? {
        switch self {
        case let .moreRanksThanBlocks(r, b):
            "\(r) ranks for a model of \(b) blocks: every rank needs at least one block; run with -n \(b) or fewer"
        case let .disagreement(what): "ranks disagree on \(what)"
        case let .peerFailed(what): what
        case let .badArgument(what): what
        }
    }
}
