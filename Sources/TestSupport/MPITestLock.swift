import Foundation

/// The test process has one MPI world (MPI starts once per process), and swift-testing runs
/// suites in parallel. Every test that calls MPI in-process (MPIKitTests' singleton test, the
/// application library's runs) holds this lock, so the world's calls come from one test at a
/// time and no test receives another's self-messages.
public enum MPITestLock {
    nonisolated(unsafe) private static let lock = NSLock()

    public static func run<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
