import Foundation

/// Compute on one thread while the caller does other work (issue 29 item 2: a block's output
/// write, its journal records and the next block's read were serial steps between forwards, 10–20%
/// of a llama-7b-shaped Wanda prune, with every compute thread idle).
extension Parallel {
    /// Runs `background` on a new thread while this thread runs `foreground`, and returns
    /// `background`'s result once both are done. `background` is usually a `Parallel.map` over the
    /// windows; the caller keeps this thread for work that must stay on it (MPI is funneled
    /// through the main thread). Both always finish before this returns, also when `foreground`
    /// throws, so nothing `background` reads is released under it. The result does not depend on
    /// the overlap: `background` runs the same code it would run alone.
    ///
    /// Returns also the seconds each side took, so callers can count the overlapped time once.
    public static func alongside<T: Sendable>(_ background: @escaping @Sendable () -> T,
                                              _ foreground: () throws -> Void) rethrows -> Overlap<T> {
        let slot = CompletionSlot<(T, Double)>()
        let start = wallSeconds()
        let thread = Thread {
            let t = wallSeconds()
            let value = background()
            slot.fill((value, wallSeconds() - t))
        }
        // A forward's own stack needs are small (buffers live on the heap), but the default of a
        // Foundation thread is not specified on every platform: ask for the main thread's 8 MiB.
        thread.stackSize = 8 << 20
        thread.start()
        let foregroundStart = wallSeconds()
        do {
            try foreground()
        } catch {
            _ = slot.wait()
            throw error
        }
        let foregroundSeconds = wallSeconds() - foregroundStart
        let (value, backgroundSeconds) = slot.wait()
        return Overlap(value: value, backgroundSeconds: backgroundSeconds, foregroundSeconds: foregroundSeconds,
                       wallSeconds: wallSeconds() - start)
    }

    /// What `alongside` returns: the background result and the three times, from which the
    /// seconds both sides ran at once (`hiddenSeconds`) follow.
    public struct Overlap<T: Sendable>: Sendable {
        public let value: T
        public let backgroundSeconds: Double
        public let foregroundSeconds: Double
        public let wallSeconds: Double

        /// Seconds counted by both sides' own clocks that the wall did not see twice: the two
        /// sides' times minus the wall, so that `background + foreground − hidden = wall`.
        public var hiddenSeconds: Double { max(0, backgroundSeconds + foregroundSeconds - wallSeconds) }
    }

    private static func wallSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}

/// A value one thread fills once and another waits for.
private final class CompletionSlot<T: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var value: T?

    func fill(_ v: T) {
        condition.lock()
        value = v
        condition.broadcast()
        condition.unlock()
    }

    func wait() -> T {
        condition.lock()
        defer { condition.unlock() }
        while value == nil { condition.wait() }
        return value!
    }
}
