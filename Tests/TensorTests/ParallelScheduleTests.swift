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
}

private final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func append(_ e: String) { lock.lock(); list.append(e); lock.unlock() }
    var events: [String] { lock.lock(); defer { lock.unlock() }; return list }
}
