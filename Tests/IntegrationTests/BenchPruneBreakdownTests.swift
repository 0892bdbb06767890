import Foundation
import TestSupport
import Testing

/// Issue 29 item 1: `bench prune --breakdown --json` splits every rank's whole command into its
/// phases. On a tiny synthetic model (4 blocks of hidden 128, 4 windows of 64 tokens) with Wanda
/// and SparseGPT on 1 and 2 ranks: every phase is present and non-negative, the phases that must
/// do work do, and the phases, each timed on its own, add up to the rank's separately measured
/// wall time within a tolerance, once the seconds that ran alongside a forward (`overlapped`,
/// counted in two phases) are taken out — tight enough that leaving out the largest phase falls
/// short (the control).
@Suite(.serialized) struct BenchPruneBreakdownTests {
    struct SynthFailed: Error { let stderr: String }

    static let phases = ["startup", "read", "tokenize", "compute", "select", "share", "journal", "write", "finish"]

    static let model = Result(catching: { () throws -> URL in
        let dir = try scratchDirectory("breakdown-synth")
        let tokenizer = try RepoPaths.require(RepoPaths.smolHF).path
        let run = try MPIRun.run(["synth", "--shape", "custom", "--hidden", "128", "--intermediate", "320", "--layers", "4",
                                  "--heads", "4", "--kv-heads", "2", "--dtype", "bf16", "--seed", "1", "--tokenizer", tokenizer,
                                  "--out", dir.appendingPathComponent("m").path], ranks: nil, timeout: 120)
        guard run.status == 0 else { throw SynthFailed(stderr: run.stderr) }
        return dir.appendingPathComponent("m")
    })

    /// The tolerance on |wall − Σ phases|: 5% of the wall plus 30 ms (timer reads, allocations
    /// and bookkeeping between the timed phases on a loaded machine).
    static func tolerance(wall: Double) -> Double { 0.05 * wall + 0.03 }

    @Test(arguments: [1, 2])
    func phasesArePresentNonNegativeAndSumToTheWall(ranks: Int) throws {
        let calib = RepoPaths.wikitext.appendingPathComponent("wiki.valid.tokens").path
        let run = try MPIRun.run(["bench", "prune", "--model", try Self.model.get().path, "--calib", calib, "--nsamples", "4",
                                  "--seqlen", "64", "--methods", "wanda,sparsegpt", "--breakdown", "--json"],
                                 ranks: ranks, timeout: 300, environment: ["OPENBLAS_NUM_THREADS": "1"])
        #expect(run.status == 0, "\(run.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let runs = try #require(object["runs"] as? [[String: Any]])
        #expect(runs.count == 2)
        for entry in runs {
            let method = entry["method"] as? String ?? "?"
            let perRank = try #require(entry["breakdown"] as? [[String: Any]], "\(method): no breakdown")
            #expect(perRank.count == ranks, "\(method): \(perRank.count) ranks in the breakdown")
            for rank in perRank {
                let r = rank["rank"] as? Int ?? -1
                let wall = try #require(rank["wall_seconds"] as? Double)
                let phases = try #require(rank["phases"] as? [String: [String: Double]])
                #expect(Set(phases.keys) == Set(Self.phases), "\(method) rank \(r): phases \(phases.keys.sorted())")
                var seconds: [String: Double] = [:]
                for name in Self.phases {
                    let s = try #require(phases[name]?["seconds"], "\(method) rank \(r): no \(name)")
                    #expect(s >= 0, "\(method) rank \(r): \(name) \(s) s")
                    seconds[name] = s
                }
                for name in ["read", "compute", "select", "journal"] {
                    #expect(seconds[name]! > 0, "\(method) rank \(r): \(name) is 0 though it did work")
                }
                if r == 0 { #expect(seconds["tokenize"]! > 0 && seconds["write"]! > 0, "\(method) rank 0: \(seconds)") }
                if ranks > 1 { #expect(seconds["share"]! > 0, "\(method) rank \(r): nothing shared on \(ranks) ranks") }
                let overlapped = try #require(rank["overlapped_seconds"] as? Double, "\(method) rank \(r): no overlapped_seconds")
                #expect(overlapped >= 0 && overlapped <= seconds["compute"]! + 1e-9,
                        "\(method) rank \(r): overlapped \(overlapped) s, compute \(seconds["compute"]!) s")
                let sum = seconds.values.reduce(0, +) - overlapped
                let tolerance = Self.tolerance(wall: wall)
                #expect(abs(wall - sum) <= tolerance,
                        "\(method) rank \(r): phases sum to \(sum) s, wall \(wall) s (tolerance \(tolerance) s): \(seconds)")
                #expect(abs((rank["unaccounted_seconds"] as? Double ?? .nan) - (wall - sum)) < 1e-6)
                // The control: without its largest phase the sum falls short by more than the tolerance.
                let largest = seconds.max { $0.value < $1.value }!
                #expect(wall - (sum - largest.value) > tolerance,
                        "\(method) rank \(r): leaving out \(largest.key) (\(largest.value) s) stays within the tolerance")
            }
        }
    }
}
