import Foundation

public enum ModelError: Error, LocalizedError {
    case shapeMismatch(tensor: String, expected: [Int], found: [Int])
    case missingTensor(String)
    case tokenOutOfRange(id: Int, vocabulary: Int)
    case unsupported(String)
    case unexpectedTensor(tensor: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .shapeMismatch(t, e, f): "tensor '\(t)' has shape \(f), the config implies \(e)"
        case let .missingTensor(t): "tensor '\(t)' is not in the checkpoint"
        case let .tokenOutOfRange(id, n): "token id \(id) is outside the vocabulary of \(n)"
        case let .unsupported(what): what
        case let .unexpectedTensor(t, reason): "tensor '\(t)' is not used by this architecture: \(reason)"
        }
    }
}
