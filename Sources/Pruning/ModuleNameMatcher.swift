import Foundation

/// Matches one recipe expression against every linear's module name, once, under a time bound
/// (issue 26 item 4). Recipe expressions are ICU regular expressions, and ICU backtracks: a
/// pattern such as `^(.*)*(.*)*X$` takes exponential time on a name that almost matches, which
/// would leave every rank spinning before any output appears. Foundation exposes no ICU time
/// limit, so the matching runs on its own thread and the caller waits at most `limit` seconds;
/// past it the expression is refused in one line and the process exits (the abandoned thread
/// dies with it). The names are matched before calibration, so the refusal costs no work.
public struct ModuleNameMatcher: Sendable {
    /// Which of the names the expression matched (by index into the names given).
    public let matches: [Bool]

    /// Seconds one expression may take over all names; generous, since a sane pattern needs
    /// microseconds per name and the names number 7 per block.
    public static let defaultLimit: Double = 5

    public init(pattern: String, field: String, names: [String], limit: Double = Self.defaultLimit) throws {
        let regex = try SparsityOverrides.compile(pattern, field: field)
        let box = ResultBox()
        let done = DispatchSemaphore(value: 0)
        let worker = Thread {
            box.value = names.map { regex.firstMatch(in: $0, range: NSRange($0.startIndex..., in: $0)) != nil }
            done.signal()
        }
        worker.stackSize = 8 << 20
        worker.start()
        guard done.wait(timeout: .now() + limit) == .success, let value = box.value else {
            throw PruningError.invalidArgument(
                argument: field, value: pattern,
                reason: String(format: "matching it against the model's %d module names took more than %.0f s (nested quantifiers such as (a*)* backtrack exponentially); write it without nesting",
                               names.count, limit))
        }
        matches = value
    }

    /// Written by the worker before it signals, read by the waiter only after the signal.
    private final class ResultBox: @unchecked Sendable { var value: [Bool]? }
}
