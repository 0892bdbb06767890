import Foundation

public enum ClusterError: Error, LocalizedError {
    case moreRanksThanBlocks(ranks: Int, blocks: Int)
    case disagreement(what: String)
    case peerFailed(String)

    public var errorDescription: String? {
        switch self {
        case let .moreRanksThanBlocks(r, b):
            "\(r) ranks for a model of \(b) blocks: every rank needs at least one block; run with -n \(b) or fewer"
        case let .disagreement(what): "ranks disagree on \(what)"
        case let .peerFailed(what): what
        }
    }
}
