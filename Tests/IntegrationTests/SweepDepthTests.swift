import Foundation
import TestSupport
import Testing

/// Issue 24 item 5: sweep cells with depth pruning on the 6-block tiny model (4 windows of 32
/// tokens): depth methods as `method` values (one cell per `remove-blocks` K) and pruning
/// methods after `remove-by`; each cell's model equals `owlprune prune` with the same flags.
@Suite(.serialized) struct SweepDepthTests {
    let depth = DepthPruneTests()

    struct Cell: Decodable {
        struct Key: Decodable { var method: String; var allocation: String; var sparsity: Double; var removeBlocks: Int? }
        var cell: Key
        var nllSum: Double
        var perplexity: Double
    }
    struct Summary: Decodable { var cells: [Cell] }

    func sweep(_ f: DepthPruneTests.Fixture, out: URL, ranks: Int?, _ grid: [String]) throws -> MPIRun.Outcome {
        try MPIRun.run(["sweep", "--model", f.model.path, "--out", out.path, "--calib-tokens", f.ids.path, "--nsamples",
                        String(DepthPruneTests.windows), "--seqlen", String(DepthPruneTests.length), "--eval-tokens", f.ids.path,
                        "--keep-models", "--threads", "1"] + grid, ranks: ranks, timeout: 300)
    }

    /// The grid `wanda, shortgpt, streamline` × `remove-blocks 1, 2` with `remove-by shortgpt` and
    /// `replacement linear` shared: 6 cells (a depth method is one cell per K); on 1 rank from
    /// flags and on 2 ranks from a grid file the same perplexity bits; three cells' models equal
    /// the matching `owlprune prune` byte for byte. Control: the K = 1 and K = 2 cells differ, and
    /// the comparison that finds a cell equal to its prune finds it unequal to another K's prune.
    @Test func depthCellsEqualTheirPrune() throws {
        let f = try depth.fixture("sweep-depth")
        defer { try? FileManager.default.removeItem(at: f.scratch) }
        let one = f.scratch.appendingPathComponent("sweep-1"), two = f.scratch.appendingPathComponent("sweep-2")
        let a = try sweep(f, out: one, ranks: nil, ["--method", "wanda,shortgpt,streamline", "--allocation", "uniform", "--sparsity", "0.5",
                                                  "--remove-blocks", "1,2", "--prune-option=--remove-by=shortgpt",
                                                  "--prune-option=--replacement=linear"])
        #expect(a.status == 0, "\(a.stderr)")
        guard a.status == 0 else { return }
        let yaml = f.scratch.appendingPathComponent("grid.yaml")
        try """
            method: [wanda, shortgpt, streamline]
            allocation: uniform
            sparsity: 0.5
            remove-blocks: [1, 2]
            options:
              remove-by: shortgpt
              replacement: linear
            """.write(to: yaml, atomically: true, encoding: .utf8)
        let b = try sweep(f, out: two, ranks: 2, ["--grid", yaml.path])
        #expect(b.status == 0, "\(b.stderr)")
        let s1 = try JSONDecoder().decode(Summary.self, from: Data(contentsOf: one.appendingPathComponent("sweep.json")))
        let s2 = try JSONDecoder().decode(Summary.self, from: Data(contentsOf: two.appendingPathComponent("sweep.json")))
        #expect(s1.cells.map { "\($0.cell.method) \($0.cell.removeBlocks ?? 0)" }
                == ["wanda 1", "wanda 2", "shortgpt 1", "shortgpt 2", "streamline 1", "streamline 2"])
        #expect(s1.cells.map(\.nllSum) == s2.cells.map(\.nllSum), "1 and 2 ranks give other perplexities")
        #expect(s1.cells.allSatisfy { $0.perplexity.isFinite && $0.perplexity > 1 })
        let models = one.appendingPathComponent("models")
        let prunes: [(String, [String])] = [
            ("wanda-uniform-0.5-k2", ["--method", "wanda", "--sparsity", "0.5", "--remove-by", "shortgpt", "--remove-blocks", "2"]),
            ("shortgpt-k1", ["--method", "shortgpt", "--remove-blocks", "1"]),
            ("streamline-k2", ["--method", "streamline", "--remove-blocks", "2", "--replacement", "linear"]),
        ]
        var outputs: [String: URL] = [:]
        for (id, flags) in prunes {
            let out = f.scratch.appendingPathComponent("prune-\(id)")
            let run = try depth.prune(f, out: out, ranks: nil, flags)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(try differingTensors(models.appendingPathComponent(id), out).isEmpty, "cell \(id) differs from its prune")
            #expect(try Data(contentsOf: models.appendingPathComponent(id).appendingPathComponent("config.json"))
                    == Data(contentsOf: out.appendingPathComponent("config.json")), "cell \(id): config.json")
            outputs[id] = out
        }
        #expect(!(try differingTensors(models.appendingPathComponent("shortgpt-k2"), outputs["shortgpt-k1"]!)).isEmpty,
                "control: the K = 2 cell equals the K = 1 prune")
        #expect(s1.cells[2].nllSum != s1.cells[3].nllSum, "control: K = 1 and K = 2 give the same perplexity")
    }

    /// A depth grid that cannot run is refused in one line naming the cell or the option; nothing written.
    @Test func badDepthGridsAreRefusedNamingTheCell() throws {
        let f = try depth.fixture("sweep-depth-bad")
        defer { try? FileManager.default.removeItem(at: f.scratch) }
        let out = f.scratch.appendingPathComponent("out")
        let cases: [([String], String)] = [
            (["--method", "shortgpt", "--allocation", "uniform", "--sparsity", "0.5"],
             "sweep cell shortgpt: --method shortgpt removes blocks; give the grid remove-blocks"),
            (["--method", "wanda", "--allocation", "uniform", "--sparsity", "0.5", "--remove-blocks", "2"],
             "sweep cell wanda-uniform-0.5-k2: remove-blocks 2 beside --method wanda needs remove-by"),
            (["--method", "shortgpt", "--allocation", "uniform", "--sparsity", "0.5", "--remove-blocks", "2", "--prune-option=--replacement=linear"],
             "sweep: the shared option --replacement applies to no cell of the grid"),
            (["--method", "streamline", "--allocation", "uniform", "--sparsity", "0.5", "--remove-blocks", "2"],
             "sweep cell streamline-k2: --replacement layer needs --calib FILE"),
            (["--method", "wanda", "--allocation", "uniform", "--sparsity", "0.5", "--prune-option=--remove-by=sleb"],
             "sweep: the shared option --remove-by needs the grid's remove-blocks"),
            (["--method", "sleb", "--allocation", "uniform", "--sparsity", "0.5", "--remove-blocks", "2,0"],
             "--remove-blocks 0: each must be a whole number of blocks, at least 1"),
        ]
        for (grid, message) in cases {
            let run = try sweep(f, out: out, ranks: 2, grid)
            #expect(run.status != 0, "\(grid) succeeded")
            #expect(run.stderr.contains(message), "\(grid): \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out.path), "\(grid) left an output")
        }
    }
}
