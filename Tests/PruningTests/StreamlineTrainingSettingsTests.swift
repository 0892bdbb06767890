import Pruning
import Testing

/// `--replacement layer`'s settings (issue 24 item 2): the effective schedule, the shuffle and the
/// default epochs.
@Suite struct StreamlineTrainingSettingsTests {
    /// `effective(optimizerSteps: S)` is the authors' construction over 16·S micro-batches read
    /// at optimizer steps, step for step; the control: the construction over S micro-batches
    /// (what a reading that ignores the accumulation would build) differs.
    @Test func effectiveScheduleIsTheAuthorsConstructionAtOptimizerSteps() {
        for s in [16, 50, 780] {
            let effective = StreamlineSchedule.effective(optimizerSteps: s)
            let authors = StreamlineSchedule.authors(batches: 16 * s, epochs: 1)
            let naive = StreamlineSchedule.authors(batches: s, epochs: 1)
            for step in 0..<s { #expect(abs(effective.learningRate(step: step) - authors.learningRate(step: step)) <= 1e-15) }
            #expect(effective.learningRate(step: 0) == 0)
            #expect((0..<s).contains { abs(effective.learningRate(step: $0) - naive.learningRate(step: $0)) > 1e-6 })
            // The rate ends near the maximum, not at min_lr.
            #expect(effective.learningRate(step: s - 1) > 1.9e-4)
        }
    }

    /// Each epoch's order is a permutation, the same on every call (every rank), different across
    /// epochs and seeds; a step's batch is ascending and the batches of an epoch do not overlap.
    @Test func shuffleIsAReproduciblePermutation() {
        let a = StreamlineTrainingSettings(epochs: 3, batch: 4, seed: 7)
        let b = StreamlineTrainingSettings(epochs: 3, batch: 4, seed: 8)
        let o0 = a.order(epoch: 0, windows: 18), o1 = a.order(epoch: 1, windows: 18)
        #expect(o0.sorted() == Array(0..<18) && o1.sorted() == Array(0..<18))
        #expect(o0 == a.order(epoch: 0, windows: 18))
        #expect(o0 != o1 && o0 != b.order(epoch: 0, windows: 18) && o0 != Array(0..<18))
        let batches = (0..<a.stepsPerEpoch(windows: 18)).map { a.batchWindows(epoch: 1, step: $0, windows: 18) }
        #expect(batches.count == 4 && batches.allSatisfy { $0 == $0.sorted() && $0.count == 4 })
        #expect(Set(batches.joined()).count == 16)
    }

    @Test func defaultEpochsReachTheMinimumSteps() {
        #expect(StreamlineTrainingSettings.defaultEpochs(windows: 16, batch: 4) == 25)
        #expect(StreamlineTrainingSettings.defaultEpochs(windows: 128, batch: 4) == 4)
        #expect(StreamlineTrainingSettings.defaultEpochs(windows: 1000, batch: 4) == 1)
        #expect(StreamlineTrainingSettings.defaultEpochs(windows: 18, batch: 4) == 25)
    }
}
