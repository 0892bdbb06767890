import Foundation
import Tensor
import Testing

/// `Parallel.schedule`: every task runs once, after its dependencies, and the results equal a
/// serial loop's for any worker count.
@Suite struct ParallelScheduleTests {
    /// Task i's value is i plus its dependencies' values, so a task that read an unfinished or
    /// wrong dependency would give another sum.
    let dependencies: [[Int]] = [[2], [], [], [0, 1], [3], [], [2, 5], []]

    func expected() -> [Int] {
        var value = [Int?](repeating: nil, count: dependencies.count)
        while value.contains(where: { $0 == nil }) {
            for i in dependencies.indices where value[i] == nil && dependencies[i].allSatisfy({ value[$0] != nil }) {
                value[i] = i + dependencies[i].reduce(0) { $0 + value[$1]! }
            }
        }
        return value.map { $0! }
    }

    @Test func resultsEqualTheSerialLoopForAnyWorkerCount() {
        for workers in [1, 2, 3, 8] {
            let log = EventLog()
            let results = Parallel.schedule(dependencies.count, workers: workers, dependencies: dependencies) { i, done in
                log.append("start \(i)")
                let v = i + dependencies[i].reduce(0) { $0 + done($1) }
                log.append("end \(i)")
                return v
            }
            #expect(results == expected(), "\(workers) workers")
            let events = log.events
            for (i, deps) in dependencies.enumerated() {
                #expect(events.filter { $0 == "start \(i)" }.count == 1)
                let start = events.firstIndex(of: "start \(i)")!
                for d in deps { #expect(events.firstIndex(of: "end \(d)")! < start, "task \(i) started before \(d) ended") }
            }
        }
        // Control: the expected sums depend on the dependency graph.
        #expect(expected() != Array(dependencies.indices))
    }

    /// One worker takes the first ready task in index order: the caller's longest-first order.
    @Test func oneWorkerTakesTheFirstReadyTaskInOrder() {
        let log = EventLog()
        _ = Parallel.schedule(dependencies.count, workers: 1, dependencies: dependencies) { i, _ in
            log.append("\(i)")
            return 0
        }
        #expect(log.events == ["1", "2", "0", "3", "4", "5", "6", "7"])
    }

    /// A task's loop runs on an idle worker too (`Helpers.forEach`), and every item runs once
    /// with the serial loop's result. Item 0 waits (up to 20 s) for an item on another thread:
    /// with helping that happens at once; without it, item 0 would time out alone. (Dispatch runs
    /// the workers on as many threads as the process may use: under `taskset -c 0` they take
    /// turns on one, and the loop is the owner's alone — checked as such.)
    @Test func aTasksLoopIsHelpedByAnIdleWorker() {
        let width = dispatchWidth()
        for workers in [1, 2, 3] {
            let threads = EventLog(), started = EventLog()
            let results = Parallel.schedule(2, workers: workers, dependencies: [[], []]) { task, _, helpers in
                guard task == 0 else { return [task] }
                var items = [Int](repeating: 0, count: 6)
                helpers.forEach(&items) { i, item in
                    let me = "\(pthread_self())"
                    threads.append(me)
                    started.append("\(i)")
                    if i == 0 && workers > 1 && width > 1 {
                        let deadline = Date().addingTimeInterval(20)
                        while Date() < deadline && !threads.events.contains(where: { $0 != me }) { usleep(1000) }
                    }
                    item = i * i + 1
                }
                return items
            }
            #expect(results == [[1, 2, 5, 10, 17, 26], [1]], "\(workers) workers")
            #expect(started.events.sorted() == ["0", "1", "2", "3", "4", "5"], "\(workers) workers: every item once")
            // Control: one worker runs every item on its own thread.
            let distinct = Set(threads.events).count
            #expect(workers > 1 && width > 1 ? distinct > 1 : distinct == 1,
                    "\(workers) workers, dispatch width \(width): items ran on \(distinct) threads")
        }
    }
}

/// How many threads `concurrentPerform` gives two iterations that each wait (up to 2 s) for the other.
private func dispatchWidth() -> Int {
    let arrived = EventLog()
    DispatchQueue.concurrentPerform(iterations: 2) { _ in
        arrived.append("\(pthread_self())")
        let deadline = Date().addingTimeInterval(2)
        while Date() < deadline && Set(arrived.events).count < 2 { usleep(1000) }
    }
    return Set(arrived.events).count
}

private final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func append(_ e: String) { lock.lock(); list.append(e); lock.unlock() }
    var events: [String] { lock.lock(); defer { lock.unlock() }; return list }
}
