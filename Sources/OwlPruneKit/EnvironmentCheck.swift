import ArgumentParser
import Diagnostics
import Foundation

/// Every `OWLPRUNE_*` variable the program reads, checked once at start-up (issue 26 item 5).
///
/// Why: an unknown value used to be ignored (`OWLPRUNE_BLOCK_WEIGHTS=brodcast` silently read the
/// weights). A value owlprune cannot use is refused in one line before any work; the test hooks
/// (`OWLPRUNE_FAULT_*`, `OWLPRUNE_TEST_*`) are checked for their shape too. Names owlprune does
/// not read are left alone: a site's scripts may keep their own `OWLPRUNE_*` settings.
package enum EnvironmentCheck {
    /// Name → what a valid value looks like (nil: any non-empty text).
    package static let known: [String: (description: String, accepts: @Sendable (String) -> Bool)?] = [
        "OWLPRUNE_BLOCK_WEIGHTS": ("read or broadcast", { ["read", "broadcast"].contains($0) }),
        "OWLPRUNE_FAULT_KILL_AT": nil,
        "OWLPRUNE_FAULT_PAUSE_AT": nil,
        "OWLPRUNE_FAULT_PAUSE_CHECKS": ("0 or 1", { ["0", "1"].contains($0) }),
        "OWLPRUNE_FAULT_KILL_RANK": ("a rank number", { Int($0).map { $0 >= 0 } ?? false }),
        "OWLPRUNE_TEST_EXIT_DELAY_MS": ("milliseconds", { UInt32($0) != nil }),
    ]

    /// The first problem, as one line; nil when the environment is fine.
    package static func problem(in environment: [String: String]) -> String? {
        for name in environment.keys.sorted() {
            guard let rule = known[name], let value = environment[name] else { continue }
            if let rule, !rule.accepts(value) {
                return "environment variable \(name)=\(printableLine(String(value.prefix(80)))): expected \(rule.description)"
            }
        }
        return nil
    }
}
