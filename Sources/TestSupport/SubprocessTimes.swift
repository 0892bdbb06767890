import Foundation
import Testing

/// Wall seconds of every subprocess a test runs (owlprune, mpiexec, python), by suite, for
/// `deploy/suite-times` (issue 23 item 6: CI says how long each suite takes).
///
/// Why not swift-testing's own XUnit times: in a parallel run every test is scheduled at the start,
/// so its recorded time runs from the start of the whole run to its end (hundreds of seconds
/// for a millisecond test). A subprocess's wall time is the suite's real cost: integration tests
/// spend nearly all their time waiting for one.
///
/// With `OWLPRUNE_TEST_TIMES=FILE` set, each subprocess appends one line `suite<TAB>seconds`
/// (one `write` on an `O_APPEND` descriptor, so concurrent tests never interleave a line).
public enum SubprocessTimes {
    public static func measure<T>(_ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { record(seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
        return try body()
    }

    static func record(seconds: Double) {
        guard let path = ProcessInfo.processInfo.environment["OWLPRUNE_TEST_TIMES"], !path.isEmpty else { return }
        let suite = Test.current.map { test in
            ([test.id.moduleName] + test.id.nameComponents.dropLast()).joined(separator: ".")
        } ?? "?"
        let line = Array("\(suite)\t\(String(format: "%.3f", seconds))\n".utf8)
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }
}
