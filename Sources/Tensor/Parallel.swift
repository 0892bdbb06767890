import Dispatch

/// Independent work items spread over a few threads, results in index order. Used for the
/// calibration windows of one block, which do not depend on each other: every item is computed
/// by the same single-threaded code (one BLAS thread each) whichever thread runs it, so results
/// are bit-identical to a serial loop and to any thread count.
public enum Parallel {
    public static func map<T: Sendable>(_ count: Int, workers: Int, _ body: @Sendable (Int) -> T) -> [T] {
        if workers <= 1 || count <= 1 { return (0..<count).map(body) }
        let results = UnsafeMutableBufferPointer<T?>.allocate(capacity: count)
        results.initialize(repeating: nil)
        defer {
            results.deinitialize()
            results.deallocate()
        }
        // Each stripe writes only its own indices, so the buffer is never written concurrently
        // at the same place; `nonisolated(unsafe)` states that to the compiler.
        nonisolated(unsafe) let slots = results
        let stripes = min(workers, count)
        DispatchQueue.concurrentPerform(iterations: stripes) { stripe in
            for i in stride(from: stripe, to: count, by: stripes) { slots[i] = body(i) }
        }
        return results.map { $0! }
    }
}
