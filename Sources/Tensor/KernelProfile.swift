/// Thread CPU seconds per kernel (`ThreadClock`: on a shared machine wall time mostly measures
/// the scheduler) of a block forward, for `owlprune bench forward --breakdown`.
///
/// A forward pass takes an optional profile; without one the only cost is a nil check per
/// kernel call (a dozen per block), so the production path and the profiled path are the same
/// code. Labels are plain strings so Tensor stays ignorant of the block's layer names; they are
/// kept in first-seen order for printing.
public final class KernelProfile {
    public private(set) var labels: [String] = []
    private var seconds: [String: Double] = [:]

    public init() {}

    /// Runs `body`, adding its wall time to `label`.
    @inline(__always)
    public func time<T>(_ label: String, _ body: () throws -> T) rethrows -> T {
        let start = ThreadClock.nanoseconds()
        defer { add(label, seconds: ThreadClock.seconds(since: start)) }
        return try body()
    }

    public func add(_ label: String, seconds s: Double) {
        if seconds[label] == nil { labels.append(label) }
        seconds[label, default: 0] += s
    }

    public func seconds(_ label: String) -> Double { seconds[label] ?? 0 }

    public var total: Double { seconds.values.reduce(0, +) }

    public func reset() {
        labels = []
        seconds = [:]
    }
}

extension Optional where Wrapped == KernelProfile {
    /// `profile?.time(label) { … }` that still runs `body` without a profile.
    @inline(__always)
    public func time<T>(_ label: String, _ body: () throws -> T) rethrows -> T {
        if let p = self { return try p.time(label, body) }
        return try body()
    }
}
