import ArgumentParser
import Cluster
import Pruning

// Every flag whose value is one of a fixed set is a type here (issue 13 item 6): ArgumentParser
// refuses a typo by listing the legal values, `--help` shows them, and the generated shell
// completions offer them. Values stay the strings users type, so recipes, sweep grids and the
// report's arguments carry the same words (docs/recipes.md).

/// `--method`: the four mask methods of `Pruning`, and the three depth methods that only
/// `prune --remove-blocks K` runs.
enum MethodName: String, CaseIterable, ExpressibleByArgument, Sendable {
    case magnitude, wanda, sparsegpt, ria, shortgpt, sleb, streamline

    /// nil for the depth methods, which choose blocks rather than weights.
    var pruning: PruningMethod? { PruningMethod(rawValue: rawValue) }
}

/// `--allocation`: how the target spreads over the blocks (docs/algorithms.md §6–§8, §13–§14).
enum AllocationName: String, CaseIterable, ExpressibleByArgument, Sendable {
    case uniform, owl, atp, dlp, alpha
}

/// `--update`: what happens to the kept weights after the mask.
enum WeightUpdate: String, CaseIterable, ExpressibleByArgument, Sendable {
    case none, admm
}

/// An on/off setting given as a value (`--dsnot-sign-constraint on`), as the reference scripts do.
enum OnOff: String, CaseIterable, ExpressibleByArgument, Sendable {
    case on, off
    var isOn: Bool { self == .on }
}

extension Propagation: ExpressibleByArgument {}
extension WorkSplit: ExpressibleByArgument {}
extension AlphaPruning.Fit: ExpressibleByArgument {}
extension DaSSOptions.Scope: ExpressibleByArgument {}

/// `--pattern unstructured` or `N:M`; whether 1 ≤ N < M holds is `MethodOptions.validate`'s
/// check, so that error can say which rule the pair breaks.
extension SparsityPattern: ExpressibleByArgument {
    public init?(argument: String) { self.init(text: argument) }

    public static var defaultCompletionKind: CompletionKind { .list(["unstructured", "2:4", "4:8"]) }
}
