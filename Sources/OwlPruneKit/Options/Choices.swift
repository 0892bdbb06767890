import ArgumentParser
import Checkpoint
import Cluster
import Diagnostics
import Distribution
import Pruning

// Every flag whose value is one of a fixed set is a type here (issue 13 item 6): ArgumentParser
// refuses a typo by listing the legal values, `--help` shows them, and the generated shell
// completions offer them. Values stay the strings users type, so recipes, sweep grids and the
// report's arguments carry the same words (docs/recipes.md).

/// `--method`: the four mask methods of `Pruning`, and the three depth methods that only
/// `prune --remove-blocks K` runs.
package enum MethodName: String, CaseIterable, Codable, ExpressibleByArgument, Sendable {
    case magnitude, wanda, sparsegpt, ria, shortgpt, sleb, streamline

    /// nil for the depth methods, which choose blocks rather than weights.
    package var pruning: PruningMethod? { PruningMethod(rawValue: rawValue) }
}

/// `--allocation`: how the target spreads over the blocks (docs/algorithms.md §6–§8, §13–§14).
package enum AllocationName: String, CaseIterable, Codable, ExpressibleByArgument, Sendable {
    case uniform, owl, atp, dlp, alpha
}

/// `--update`: what happens to the kept weights after the mask.
package enum WeightUpdate: String, CaseIterable, ExpressibleByArgument, Sendable {
    case none, admm
}

/// An on/off setting given as a value (`--dsnot-sign-constraint on`), as the reference scripts do.
package enum OnOff: String, CaseIterable, ExpressibleByArgument, Sendable {
    case on, off
    package var isOn: Bool { self == .on }
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

/// `--dtype` of `prune` and `synth`: the one `DType` of Checkpoint (issue 23 item 4).
extension DType: ExpressibleByArgument {}

/// `synth --family`.
extension ModelFamily: ExpressibleByArgument {}

/// `--max-shard-size` and `--max-memory`: transformers' size convention (`ByteSize`). The options
/// parse through `ByteSize.argument` so a refused size says what to write (`48G`: both readings).
extension ByteSize: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }

    package static func argument(_ text: String) throws -> ByteSize {
        guard let size = ByteSize(text) else { throw ValidationError(problem(with: text)) }
        return size
    }

    /// The one help sentence of both size flags.
    package static let helpConvention = "5GB, 500MB (powers of ten), 2GiB (powers of two, 2GiB = 2·2^30 bytes) or a number of bytes, as transformers writes sizes"
}

/// A value of a fixed set read from text ArgumentParser does not parse itself (the comma lists of
/// `sweep` and `bench`, a sweep grid file): one line naming the flag, the value and the choices.
extension CaseIterable where Self: RawRepresentable, RawValue == String {
    package static func choice(_ text: String, flag: String) throws -> Self {
        guard let value = Self(rawValue: text) else {
            throw ValidationError("\(flag) \(printableLine(text)): expected one of \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }
}
