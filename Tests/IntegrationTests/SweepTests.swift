import Foundation
import Tensor
import TestSupport
import Testing

/// `owlprune sweep` (issue 14): a 2 × 2 × 2 grid on a tiny transformers-built Llama gives the
/// same cells — perplexity bits, plans and kept tensors — on 1 rank, on 2 ranks of one rank per
/// cell and on 4 ranks of two ranks per cell, and a cell equals a plain `owlprune prune` with the
/// same flags; a grid file with an unknown key is refused naming it and its line.
@Suite(.serialized) struct SweepTests {
    static let model = RepoPaths.root.appendingPathComponent("Tests/Fixtures/transformers/llama3")

    static func ids(_ url: URL, count: Int, seed: UInt64) throws {
        var g = SplitMix64(seed: seed)
        var bytes = Data()
        for _ in 0..<count {
            var id = UInt32(3 + g.next() % 1000).littleEndian
            withUnsafeBytes(of: &id) { bytes.append(contentsOf: $0) }
        }
        try bytes.write(to: url)
    }

    struct Cell: Decodable, Equatable {
        struct Key: Decodable, Equatable { var method: String; var allocation: String; var sparsity: Double }
        var cell: Key
        var nllSum: Double
        var perplexity: Double
        var achievedSparsity: Double
        var ranks: Int
    }
    struct Summary: Decodable { var cells: [Cell]; var ranks: Int; var ranksPerCell: Int }

    @Test func sameCellsForAnyRankCountAndGroupSize() throws {
        let model = try RepoPaths.require(Self.model)
        let scratch = try scratchDirectory("sweep")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let calib = scratch.appendingPathComponent("calib.ids"), evalIDs = scratch.appendingPathComponent("eval.ids")
        try Self.ids(calib, count: 4 * 32, seed: 5)
        try Self.ids(evalIDs, count: 3 * 32, seed: 9)
        let common = ["--model", model.path, "--method", "wanda,sparsegpt", "--allocation", "uniform,owl",
                      "--sparsity", "0.5,0.7", "--calib-tokens", calib.path, "--nsamples", "4", "--seqlen", "32",
                      "--eval-tokens", evalIDs.path, "--keep-models", "--threads", "1"]
        var summaries: [Summary] = []
        for (ranks, perCell) in [(nil, 1), (2, 1), (4, 2)] as [(Int?, Int)] {
            let out = scratch.appendingPathComponent("sweep-\(ranks ?? 1)")
            let run = try MPIRun.run(["sweep", "--out", out.path, "--ranks-per-cell", "\(perCell)"] + common,
                                     ranks: ranks, timeout: 300)
            #expect(run.status == 0, "sweep on \(ranks ?? 1) rank(s): \(run.stderr)")
            guard run.status == 0 else { return }
            for file in ["sweep.json", "sweep.csv", "sweep.svg"] {
                #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), "\(file) missing")
            }
            #expect(!FileManager.default.fileExists(atPath: out.path + ".partial"), "the sweep journal outlived a finished sweep")
            let csvLines = try String(contentsOf: out.appendingPathComponent("sweep.csv"), encoding: .utf8).split(separator: "\n")
            #expect(csvLines.count == 9, "sweep.csv: a header and 8 cells, got \(csvLines.count) lines")
            summaries.append(try JSONDecoder().decode(Summary.self, from: Data(contentsOf: out.appendingPathComponent("sweep.json"))))
        }
        #expect(summaries.map(\.cells.count) == [8, 8, 8])
        #expect(summaries[2].cells.allSatisfy { $0.ranks == 2 }, "4 ranks with --ranks-per-cell 2 ran cells on 2 ranks each")
        for s in summaries.dropFirst() {
            for (a, b) in zip(summaries[0].cells, s.cells) {
                #expect(a.cell == b.cell && a.nllSum.bitPattern == b.nllSum.bitPattern
                        && a.achievedSparsity == b.achievedSparsity,
                        "cell \(a.cell): \(a.nllSum) on 1 rank, \(b.nllSum) with \(s.ranks) ranks")
            }
        }
        // The orderings a sweep exists to show hold on the tiny model too: 70 % is not better than dense.
        let ppl = Set(summaries[0].cells.map(\.perplexity))
        #expect(ppl.count == 8, "8 different configurations gave only \(ppl.count) different perplexities")
        for name in ["wanda-owl-0.7", "sparsegpt-uniform-0.5"] {
            let tensors = try differingTensors(scratch.appendingPathComponent("sweep-1/models/\(name)"),
                                               scratch.appendingPathComponent("sweep-4/models/\(name)"))
            #expect(tensors.isEmpty, "\(name): kept tensors differ between 1 and 4 ranks: \(tensors.prefix(3))")
        }
        // A cell is `owlprune prune` with the same flags.
        let alone = scratch.appendingPathComponent("alone")
        let prune = try MPIRun.run(["prune", "--model", model.path, "--out", alone.path, "--method", "wanda",
                                    "--allocation", "owl", "--sparsity", "0.7", "--calib-tokens", calib.path,
                                    "--nsamples", "4", "--seqlen", "32", "--threads", "1"], ranks: nil, timeout: 300)
        #expect(prune.status == 0, "\(prune.stderr)")
        #expect(try differingTensors(alone, scratch.appendingPathComponent("sweep-1/models/wanda-owl-0.7")).isEmpty,
                "the sweep's wanda-owl-0.7 differs from a plain prune with the same flags")
    }

    /// `--eval-skip-dense` evaluates only the pruned model: each cell's perplexity has the same
    /// bits as with the dense model beside it, and no mean KLD or same top is recorded (the
    /// control: without the flag both are there, so the comparison can tell them apart).
    @Test func evalSkipDenseKeepsThePerplexityBits() throws {
        struct Scored: Decodable { var nllSum: Double; var meanKLD: Double?; var sameTop: Double? }
        struct Scores: Decodable { var cells: [Scored] }
        let model = try RepoPaths.require(Self.model)
        let scratch = try scratchDirectory("sweep-skip-dense")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let calib = scratch.appendingPathComponent("calib.ids"), evalIDs = scratch.appendingPathComponent("eval.ids")
        try Self.ids(calib, count: 2 * 32, seed: 5)
        try Self.ids(evalIDs, count: 2 * 32, seed: 9)
        var runs: [Scores] = []
        for skip in [false, true] {
            let out = scratch.appendingPathComponent("sweep-\(skip)")
            let run = try MPIRun.run(["sweep", "--out", out.path, "--model", model.path, "--method", "wanda",
                                      "--allocation", "uniform", "--sparsity", "0.5,0.7", "--calib-tokens", calib.path,
                                      "--nsamples", "2", "--seqlen", "32", "--eval-tokens", evalIDs.path, "--threads", "1"]
                                     + (skip ? ["--eval-skip-dense"] : []), ranks: 2, timeout: 300)
            #expect(run.status == 0, "\(run.stderr)")
            guard run.status == 0 else { return }
            // A cell's progress line gives "same top N%, achieved" only with the dense comparison.
            #expect(run.stderr.contains("%, achieved") != skip, "progress lines: \(run.stderr)")
            runs.append(try JSONDecoder().decode(Scores.self, from: Data(contentsOf: out.appendingPathComponent("sweep.json"))))
        }
        #expect(runs[0].cells.count == 2 && runs[1].cells.count == 2)
        #expect(runs[0].cells.allSatisfy { $0.meanKLD != nil && $0.sameTop != nil }, "control: the dense comparison is recorded")
        #expect(runs[1].cells.allSatisfy { $0.meanKLD == nil && $0.sameTop == nil }, "--eval-skip-dense recorded a KLD")
        #expect(runs[0].cells.map(\.nllSum.bitPattern) == runs[1].cells.map(\.nllSum.bitPattern))
    }

    /// A sweep killed (SIGKILL) right after its second cell was recorded leaves `OUT.partial/`; a
    /// plain rerun refuses to touch it, `--resume` keeps those two cells and runs the rest, and
    /// every cell equals an uninterrupted sweep's.
    @Test func killedSweepResumesWithFinishedCells() throws {
        let model = try RepoPaths.require(Self.model)
        let scratch = try scratchDirectory("sweep-resume")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let calib = scratch.appendingPathComponent("calib.ids"), evalIDs = scratch.appendingPathComponent("eval.ids")
        try Self.ids(calib, count: 4 * 32, seed: 5)
        try Self.ids(evalIDs, count: 2 * 32, seed: 9)
        func sweep(_ out: URL, _ extra: [String] = [], environment: [String: String] = [:]) throws -> MPIRun.Outcome {
            try MPIRun.run(["sweep", "--model", model.path, "--out", out.path, "--method", "wanda", "--allocation", "uniform,owl",
                            "--sparsity", "0.5,0.7", "--calib-tokens", calib.path, "--nsamples", "4", "--seqlen", "32",
                            "--eval-tokens", evalIDs.path, "--threads", "1"] + extra,
                           ranks: nil, timeout: 300, environment: environment)
        }
        let whole = scratch.appendingPathComponent("whole"), killed = scratch.appendingPathComponent("killed")
        #expect(try sweep(whole).status == 0)
        let kill = try sweep(killed, environment: ["OWLPRUNE_FAULT_KILL_AT": "sweep: recorded wanda-uniform-0.7"])
        #expect(kill.status != 0, "the fault hook did not stop the sweep")
        #expect(!FileManager.default.fileExists(atPath: killed.path), "a killed sweep left OUT/")
        let recorded = try FileManager.default.contentsOfDirectory(atPath: killed.path + ".partial/cells").sorted()
        #expect(recorded == ["wanda-uniform-0.5.json", "wanda-uniform-0.7.json"], "\(recorded)")
        let plain = try sweep(killed)
        #expect(plain.status != 0 && plain.stderr.contains("--resume"), "\(plain.stderr)")
        let resumed = try sweep(killed, ["--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        struct Resumed: Decodable { var resumedCells: [String]; var cells: [Cell] }
        let a = try JSONDecoder().decode(Resumed.self, from: Data(contentsOf: whole.appendingPathComponent("sweep.json")))
        let b = try JSONDecoder().decode(Resumed.self, from: Data(contentsOf: killed.appendingPathComponent("sweep.json")))
        #expect(b.resumedCells == ["wanda-uniform-0.5", "wanda-uniform-0.7"], "\(b.resumedCells)")
        #expect(a.cells.map(\.nllSum.bitPattern) == b.cells.map(\.nllSum.bitPattern), "a resumed sweep's cells differ")
        #expect(!FileManager.default.fileExists(atPath: killed.path + ".partial"), "the journal outlived the resumed sweep")
    }

    @Test func gridFileWithUnknownKeyIsRefusedByName() throws {
        let scratch = try scratchDirectory("sweep-grid")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let grid = scratch.appendingPathComponent("grid.yaml")
        try Data("method: [wanda]\nallocation: [uniform]\nsparsity: [0.5]\nsparsities: [0.6]\n".utf8).write(to: grid)
        let run = try MPIRun.run(["sweep", "--model", Self.model.path, "--out", scratch.appendingPathComponent("o").path,
                                  "--grid", grid.path, "--calib-tokens", "x.ids", "--eval-tokens", "y.ids"], ranks: nil, timeout: 60)
        #expect(run.status != 0)
        #expect(run.stderr.contains("unknown key 'sparsities'") && run.stderr.contains("line 4"), "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1, "one line: \(run.stderr)")
    }

    /// ATP's β search is a grid of prunes of its own; a sweep cell cannot run it and must say so
    /// before any work, instead of silently pruning every non-first ATP cell with β = 0.
    @Test func atpBetaAutoIsRefusedInCells() throws {
        let scratch = try scratchDirectory("sweep-atp-auto")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let run = try MPIRun.run(["sweep", "--model", Self.model.path, "--out", scratch.appendingPathComponent("o").path,
                                  "--method", "wanda", "--allocation", "uniform,atp", "--sparsity", "0.5",
                                  "--prune-option=--atp-beta=auto", "--calib-tokens", "x.ids", "--eval-tokens", "y.ids"], ranks: nil, timeout: 60)
        #expect(run.status != 0)
        #expect(run.stderr.contains("sweep cell wanda-atp-0.5") && run.stderr.contains("--atp-beta auto"), "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1, "one line: \(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.appendingPathComponent("o").path))
    }
}
