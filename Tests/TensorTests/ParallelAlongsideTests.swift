import Foundation
import Tensor
import Testing

/// `Parallel.alongside`: the background result is the one computed alone, both sides run at the
/// same time, both have finished when it returns (also when the foreground throws), and the
/// hidden seconds make background + foreground − hidden equal the wall.
@Suite struct ParallelAlongsideTests {
    struct Stop: Error {}

    @Test func resultsEqualTheSerialOnesAndBothSidesOverlap() throws {
        let inputs = (0..<16).map { Float($0) }
        @Sendable func work(_ x: Float) -> Float {
            var y = x
            for _ in 0..<20_000 { y = y * 0.999 + 1 }
            return y
        }
        let alone = Parallel.map(inputs.count, workers: 2) { work(inputs[$0]) }
        let started = Flag(), seen = Flag()
        let overlap = Parallel.alongside({ () -> [Float] in
            started.set()
            let value = Parallel.map(inputs.count, workers: 2) { work(inputs[$0]) }
            // Hold the result until the foreground has finished its nap.
            while !seen.value { usleep(1000) }
            return value
        }) {
            while !started.value { usleep(1000) }
            usleep(50_000)
            seen.set()
        }
        #expect(overlap.value == alone)
        #expect(overlap.foregroundSeconds >= 0.05)
        // Both sides ran together for at least the foreground's 50 ms nap.
        let hidden = overlap.hiddenSeconds
        #expect(hidden > 0.02, "hidden \(hidden) s")
        let sides: Double = overlap.backgroundSeconds + overlap.foregroundSeconds
        #expect(abs(sides - hidden - overlap.wallSeconds) < 1e-9)
        // Control: one side alone after the other hides nothing.
        let serial = Parallel.alongside({ 1 }) {}
        #expect(serial.hiddenSeconds < 0.02)
    }

    @Test func aForegroundErrorIsThrownOnlyAfterTheBackgroundFinished() {
        let finished = Flag()
        #expect(throws: Stop.self) {
            _ = try Parallel.alongside({ () -> Int in
                usleep(100_000)
                finished.set()
                return 1
            }) { throw Stop() }
        }
        #expect(finished.value, "alongside returned while its background still ran")
    }
}

private final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var raised = false
    func set() { lock.lock(); raised = true; lock.unlock() }
    var value: Bool { lock.lock(); defer { lock.unlock() }; return raised }
}
