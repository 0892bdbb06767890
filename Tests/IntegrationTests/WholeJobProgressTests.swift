import Foundation
import TestSupport
import Testing

/// Issue 9 item 5: rank 0 shows the progress of the whole job, not of its own blocks, in every
/// split and propagation. With 3 ranks on 6 blocks, rank 0 owns 2 blocks; its meter must still
/// count every block of every pass (and, in the dense pipeline, every window the last rank
/// finishes) exactly once, up to the total. Under mpiexec stderr is a pipe: plain lines.
@Suite(.serialized) struct WholeJobProgressTests {
    /// The counts rank 0 printed for `phase` and `unit`, in order ("prune: block 4/6 …" → 4).
    func counts(_ stderr: String, _ phase: String, _ unit: String) -> [Int] {
        stderr.split(separator: "\n").compactMap { line -> Int? in
            guard line.hasPrefix("\(phase): \(unit) ") else { return nil }
            let text = line.dropFirst(phase.count + unit.count + 3).prefix { $0 != "/" }
            return Int(text)
        }
    }

    @Test(arguments: [["--split", "blocks"], ["--split", "blocks", "--propagation", "dense"], ["--split", "windows"]])
    func rankZeroCountsEveryBlockOfTheJob(flags: [String]) throws {
        let scratch = try scratchDirectory("progress")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let calib = RepoPaths.wikitext.appendingPathComponent("wiki.valid.tokens").path
        let run = try MPIRun.run(["prune", "--model", try WindowSplitIdentityTests.model.get().path,
                                  "--out", scratch.appendingPathComponent("out").path, "--sparsity", "0.5", "--method", "wanda",
                                  "--allocation", "owl", "--calib", calib, "--nsamples", "5", "--seqlen", "32"] + flags,
                                 ranks: 3, timeout: 120)
        let what = flags.joined(separator: " ")
        #expect(run.status == 0, "\(what): \(run.stderr)")
        #expect(counts(run.stderr, "prune", "block") == Array(1...6), "\(what): \(run.stderr)")
        if flags.contains("dense") {
            #expect(counts(run.stderr, "statistics", "window") == Array(1...5), "\(what): \(run.stderr)")
        } else {
            #expect(counts(run.stderr, "statistics", "block") == Array(1...6), "\(what): \(run.stderr)")
            #expect(run.stderr.contains("(pass 2/2)") && run.stderr.contains("ETA"), "\(what): \(run.stderr)")
        }
    }
}
