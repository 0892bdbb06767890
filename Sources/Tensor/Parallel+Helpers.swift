/// The workers of a `Parallel.schedule` that a running task borrows for a loop of independent
/// items (issue 29 item 2: SparseGPT's down_proj sweep ends a block's solve on one thread while
/// the others wait; its row panels are independent within a tile, so every idle worker can take
/// some). Each item is computed by the same code whichever thread runs it and writes only its
/// own state, so results equal the serial loop's bit for bit; `.serial` runs the items in order
/// on the calling thread.
extension Parallel {
    public struct Helpers: Sendable {
        let desk: (any HelpDesk)?

        /// No helpers: `forEach` is a plain loop on the calling thread.
        public static let serial = Helpers(desk: nil)

        /// Runs `body(i)` for every `i` in `0..<count`, on this thread and on any idle worker of the
        /// schedule; returns when all are done. Items must not depend on each other.
        /// (`body` is escaping only because a helper may still hold the finished loop for a moment
        /// after this returns; no item runs after that.)
        public func forEach(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
            guard let desk, count > 1 else {
                for i in 0..<count { body(i) }
                return
            }
            desk.perform(HelpLoop(count: count, body: body))
        }

        /// `forEach` over the elements of `items`, each item given its own element to change.
        public func forEach<Item>(_ items: inout [Item], _ body: @escaping @Sendable (Int, inout Item) -> Void) {
            items.withUnsafeMutableBufferPointer { buffer in
                // Each item touches only its own element, so no element is accessed twice at once;
                // `nonisolated(unsafe)` states that to the compiler.
                nonisolated(unsafe) let elements = buffer
                forEach(elements.count) { body($0, &elements[$0]) }
            }
        }
    }
}

/// Where a loop's items are handed to idle workers (`Parallel.schedule`'s board).
protocol HelpDesk: AnyObject, Sendable {
    func perform(_ loop: HelpLoop)
}

/// One handed-out loop: its items and how many are claimed and still running (the desk's lock
/// guards both counters).
final class HelpLoop: @unchecked Sendable {
    let count: Int
    let body: @Sendable (Int) -> Void
    var claimed = 0
    var running = 0

    init(count: Int, body: @escaping @Sendable (Int) -> Void) {
        self.count = count
        self.body = body
    }
}
