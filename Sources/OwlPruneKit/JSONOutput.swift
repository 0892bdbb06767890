import Foundation

/// `--json` (docs/recipes.md §3): one JSON object on stdout, sorted keys, slashes unescaped;
/// progress and logs stay on stderr.
package enum JSONOutput {
    package static func print(_ object: [String: Any]) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        printResult(String(decoding: data, as: UTF8.self))
    }
}
