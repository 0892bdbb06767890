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
        schedule(count, workers: workers, dependencies: dependencies) { i, done, _ in withoutActuallyEscaping(done) { body(i, $0) } }
    }

    /// `schedule`, where a task may also hand a loop of independent items to the workers that
    /// have no ready task (`Helpers.forEach`): the last long task of a block — down_proj's sweep,
    /// after its factorization — then runs on every thread instead of one while the others idle.
    public static func schedule<T: Sendable>(_ count: Int, workers: Int, dependencies: [[Int]],
                                             _ body: @Sendable (Int, (Int) -> T, Helpers) -> T) -> [T] {
        precondition(dependencies.count == count, "schedule: \(dependencies.count) dependency lists for \(count) tasks")
        let board = TaskBoard<T>(dependencies: dependencies)
        if workers <= 1 || count <= 1 {
            while case .task(let task)? = board.next() { board.finish(task, body(task, { board.result($0) }, .serial)) }
        } else {
            let helpers = Helpers(desk: board)
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                while let work = board.next() {
                    switch work {
                    case .task(let task): board.finish(task, body(task, { board.result($0) }, helpers))
                    case .item(let loop, let item): board.run(item, of: loop)
                    }
                }
            }
        }
        return board.results()
    }
}

/// The shared state of `Parallel.schedule`: which tasks are taken and finished, their results,
/// and the loops running tasks have handed out, all behind one lock (tasks are whole linears'
/// solves, items a panel's tile — a millisecond or more — so the lock is cold).
private final class TaskBoard<T: Sendable>: HelpDesk, @unchecked Sendable {
    enum Work {
        case task(Int)
        case item(HelpLoop, Int)
    }

    private let condition = NSCondition()
    private let dependencies: [[Int]]
    private var taken: [Bool]
    private var finished: [T?]
    private var finishedCount = 0
    private var loops: [HelpLoop] = []

    init(dependencies: [[Int]]) {
        self.dependencies = dependencies
        taken = [Bool](repeating: false, count: dependencies.count)
        finished = [T?](repeating: nil, count: dependencies.count)
    }

    /// The first untaken task whose dependencies are finished, else an unclaimed item of a handed
    /// out loop; waits while there is neither but some task still runs (it may hand out a loop);
    /// nil when every task has finished.
    func next() -> Work? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            for i in taken.indices where !taken[i] && dependencies[i].allSatisfy({ finished[$0] != nil }) {
                taken[i] = true
                return .task(i)
            }
            if let loop = loops.first(where: { $0.claimed < $0.count }) {
                loop.claimed += 1
                loop.running += 1
                return .item(loop, loop.claimed - 1)
            }
            if finishedCount == finished.count { return nil }
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
        finishedCount += 1
        condition.broadcast()
        condition.unlock()
    }

    /// Runs a claimed item outside the lock and counts it done.
    func run(_ item: Int, of loop: HelpLoop) {
        loop.body(item)
        condition.lock()
        loop.running -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// Hands `loop` out, runs its items on this thread too, and returns when every item is done.
    func perform(_ loop: HelpLoop) {
        condition.lock()
        loops.append(loop)
        condition.broadcast()
        while loop.claimed < loop.count {
            loop.claimed += 1
            loop.running += 1
            let item = loop.claimed - 1
            condition.unlock()
            run(item, of: loop)
            condition.lock()
        }
        loops.removeAll { $0 === loop }
        while loop.running > 0 { condition.wait() }
        condition.unlock()
    }

    func results() -> [T] { finished.map { $0! } }
}
