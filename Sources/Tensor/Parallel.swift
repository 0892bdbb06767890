import Dispatch
import Foundation

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

extension Parallel {
    /// Tasks with dependencies over a few threads, results in index order. Each free worker takes
    /// the first task, in index order, whose dependencies have finished; callers list the longest
    /// tasks first, so a long task (down_proj's factorization) starts at once and the short ones
    /// fill the other threads around it instead of waiting behind it. `body` gets the task's index
    /// and a reader of its finished dependencies' results.
    ///
    /// Every task runs the same single-threaded code whichever thread runs it and reads only
    /// results that are complete, so the results equal a serial loop's bit for bit and do not
    /// depend on `workers`. `dependencies[i]` must name tasks other than `i` and be acyclic.
    public static func schedule<T: Sendable>(_ count: Int, workers: Int, dependencies: [[Int]],
                                             _ body: @Sendable (Int, (Int) -> T) -> T) -> [T] {
        precondition(dependencies.count == count, "schedule: \(dependencies.count) dependency lists for \(count) tasks")
        let board = TaskBoard<T>(dependencies: dependencies)
        if workers <= 1 || count <= 1 {
            while let task = board.next() { board.finish(task, body(task) { board.result($0) }) }
        } else {
            DispatchQueue.concurrentPerform(iterations: min(workers, count)) { _ in
                while let task = board.next() { board.finish(task, body(task) { board.result($0) }) }
            }
        }
        return board.results()
    }
}

/// The shared state of `Parallel.schedule`: which tasks are taken and finished, and their results,
/// all behind one lock (tasks are whole linears' solves, milliseconds each, so the lock is cold).
private final class TaskBoard<T: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private let dependencies: [[Int]]
    private var taken: [Bool]
    private var finished: [T?]

    init(dependencies: [[Int]]) {
        self.dependencies = dependencies
        taken = [Bool](repeating: false, count: dependencies.count)
        finished = [T?](repeating: nil, count: dependencies.count)
    }

    /// The first untaken task whose dependencies are finished; waits while none is ready but some
    /// are still running; nil when every task is taken.
    func next() -> Int? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            var untaken = false
            for i in taken.indices where !taken[i] {
                untaken = true
                if dependencies[i].allSatisfy({ finished[$0] != nil }) {
                    taken[i] = true
                    return i
                }
            }
            if !untaken { return nil }
            condition.wait()
        }
    }

    func result(_ i: Int) -> T {
        condition.lock()
        defer { condition.unlock() }
        guard let value = finished[i] else { preconditionFailure("schedule: task read a result that is not finished") }
        return value
    }

    func finish(_ i: Int, _ value: T) {
        condition.lock()
        finished[i] = value
        condition.broadcast()
        condition.unlock()
    }

    func results() -> [T] { finished.map { $0! } }
}
