import Cluster
@testable import Distribution
import Testing

@Suite struct PartitionTests {
    @Test func equalBlocksSplitFloorCeil() throws {
        #expect(try partition(parameterCounts: Array(repeating: 5, count: 30), ranks: 4) == [0..<8, 8..<15, 15..<23, 23..<30])
        #expect(try partition(parameterCounts: Array(repeating: 5, count: 30), ranks: 1) == [0..<30])
        #expect(try partition(parameterCounts: [1, 1, 1], ranks: 3) == [0..<1, 1..<2, 2..<3])
    }

    @Test func unequalBlocksBalanceParameters() throws {
        // Total 12: boundaries where the running sum first reaches 6.
        #expect(try partition(parameterCounts: [6, 1, 1, 1, 1, 1, 1], ranks: 2) == [0..<1, 1..<7])
    }

    @Test func moreRanksThanBlocksIsAnError() {
        #expect(throws: ClusterError.self) { try partition(parameterCounts: [1, 1], ranks: 3) }
    }
}

@Suite struct CalibrationSamplerTests {
    /// docs/algorithms.md §2.2: T = 1000, L = 100, seed 0 → first starts 12, 777, 77.
    @Test func startsFollowTheSpecification() throws {
        let windows = try CalibrationWindows.sample(stream: Array(0..<1000), count: 3, length: 100, seed: 0, file: "t")
        #expect(windows.starts == [12, 777, 77])
        #expect(windows.window(1) == Array(777..<877))
    }

    @Test func shortTextIsAnError() {
        #expect(throws: CalibrationError.self) {
            try CalibrationWindows.sample(stream: Array(0..<50), count: 1, length: 100, seed: 0, file: "t")
        }
    }
}
