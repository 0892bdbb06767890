/// Unstructured sparsity or N:M semi-structured sparsity (`N` pruned in every `M`).
public enum SparsityPattern: Sendable, Hashable, Codable, CustomStringConvertible {
    case unstructured
    case nOfM(n: Int, m: Int)

    public var description: String {
        switch self {
        case .unstructured: "unstructured"
        case let .nOfM(n, m): "\(n):\(m)"
        }
    }

    /// The inverse of `description`: `unstructured` or `N:M` with integers (whether 1 ≤ N < M
    /// holds is the caller's check, so its error can name the rule). Plans and the CLI share it.
    public init?(text: String) {
        if text == "unstructured" { self = .unstructured; return }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let n = Int(parts[0]), let m = Int(parts[1]) else { return nil }
        self = .nOfM(n: n, m: m)
    }

    /// Fraction pruned by an N:M pattern (`nil` when unstructured).
    public var fixedSparsity: Double? {
        if case let .nOfM(n, m) = self { return Double(n) / Double(m) }
        return nil
    }

    /// The project accepts any `0 < N < M` with `M` dividing the grouped dimension (§5.3);
    /// the references only offer 2:4 and 4:8.
    public func validate(columns: Int, layer: String, dimension: String = "columns") throws {
        guard case let .nOfM(n, m) = self else { return }
        guard n > 0, n < m else {
            throw PruningError.invalidPattern(layer: layer, n: n, m: m, detail: "need 0 < N < M")
        }
        guard columns % m == 0 else {
            throw PruningError.invalidPattern(layer: layer, n: n, m: m,
                                              detail: "\(columns) \(dimension) is not a multiple of \(m)")
        }
    }
}
