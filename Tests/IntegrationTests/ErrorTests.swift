import Foundation
import TestSupport
import Testing

/// Bad input: one line `owlprune: rank k: …` naming the file, tensor or argument, a non-zero exit
/// for the whole job, and no output directory (issue 3 item 9, issue 4 item 6). A tiny two-block
/// checkpoint keeps every case under a second.
@Suite(.serialized) struct ErrorTests {
    let scratch: URL
    let tiny: URL
    let text: URL

    init() throws {
        scratch = try scratchDirectory("errors")
        tiny = scratch.appendingPathComponent("tiny")
        try TinyCheckpoint.write(to: tiny, blocks: 2)
        text = scratch.appendingPathComponent("text.txt")
        try String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 40).write(to: text, atomically: true, encoding: .utf8)
    }

    /// Runs and checks the common contract; returns stderr for case-specific checks.
    @discardableResult
    func expectFailure(_ args: [String], ranks: Int? = nil, mentions needles: [String], noOutput out: URL? = nil,
                       sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let run = try MPIRun.run(args, ranks: ranks, timeout: 120)
        #expect(run.status != 0 && !run.timedOut, "expected a failure, got status \(run.status)", sourceLocation: sourceLocation)
        let lines = run.stderr.split(separator: "\n").filter { $0.contains("owlprune: rank") }
        #expect(!lines.isEmpty, "no 'owlprune: rank k:' line in: \(run.stderr)", sourceLocation: sourceLocation)
        for needle in needles {
            #expect(run.stderr.contains(needle), "stderr does not mention '\(needle)': \(run.stderr)", sourceLocation: sourceLocation)
        }
        if let out {
            let siblings = (try? FileManager.default.contentsOfDirectory(atPath: out.deletingLastPathComponent().path)) ?? []
            #expect(!siblings.contains { $0.hasPrefix(out.lastPathComponent) },
                    "output or staging directory left behind: \(siblings)", sourceLocation: sourceLocation)
        }
        return run.stderr
    }

    func copyOfTiny(_ name: String) throws -> URL {
        let dir = scratch.appendingPathComponent(name)
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.copyItem(at: tiny, to: dir)
        return dir
    }

    /// Replaces the tiny checkpoint's weights file with a hand-made safetensors file.
    func withSafetensors(_ name: String, header: String, dataBytes: Int) throws -> URL {
        let dir = try copyOfTiny(name)
        var bytes = Data()
        let json = Data(header.utf8)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(json)
        bytes.append(Data(count: dataBytes))
        try bytes.write(to: dir.appendingPathComponent("model.safetensors"))
        return dir
    }

    func eval(_ model: URL, seqlen: Int = 16) -> [String] {
        ["eval", "--model", model.path, "--data", text.path, "--seqlen", String(seqlen), "--max-windows", "2"]
    }

    @Test func tinyCheckpointEvaluates() throws {
        let run = try MPIRun.run(eval(tiny), ranks: 2, timeout: 120)
        #expect(run.status == 0, "\(run.stderr)")
    }

    @Test func missingModelDirectory() throws {
        // A missing directory is a usage error, named before any MPI work.
        try expectFailure(eval(scratch.appendingPathComponent("nope")), ranks: 2, mentions: ["--model", "nope", "no such directory"])
    }

    @Test func truncatedSafetensors() throws {
        let dir = try copyOfTiny("truncated")
        let file = dir.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: file)
        try data.prefix(data.count / 2).write(to: file)
        try expectFailure(eval(dir), mentions: ["model.safetensors"])
    }

    @Test func overlappingSpans() throws {
        let dir = try withSafetensors("overlap", header: """
            {"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}
            """, dataBytes: 12)
        try expectFailure(eval(dir), mentions: ["model.safetensors", "overlapping"])
    }

    @Test func spanOutOfBounds() throws {
        let dir = try withSafetensors("bounds", header: """
            {"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}
            """, dataBytes: 8)
        try expectFailure(eval(dir), mentions: ["model.safetensors", "'a'"])
    }

    @Test func dtypeShapeMismatch() throws {
        let dir = try withSafetensors("mismatch", header: """
            {"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,8]}}
            """, dataBytes: 8)
        try expectFailure(eval(dir), mentions: ["model.safetensors", "'a'"])
    }

    @Test func configMissingField() throws {
        let dir = try copyOfTiny("noconfig")
        let file = dir.appendingPathComponent("config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as! [String: Any]
        config.removeValue(forKey: "hidden_size")
        try JSONSerialization.data(withJSONObject: config).write(to: file)
        try expectFailure(eval(dir), ranks: 2, mentions: ["config.json", "hidden_size"])
    }

    @Test func ggufWithUnknownTensorType() throws {
        // GGUF v3: no metadata, one 1-D tensor of 32 elements of type 99.
        var bytes = Data("GGUF".utf8)
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        u32(3); u64(1); u64(0)
        let name = Data("blk.0.attn_q.weight".utf8)
        u64(UInt64(name.count)); bytes.append(name)
        u32(1); u64(32); u32(99); u64(0)
        while bytes.count % 32 != 0 { bytes.append(0) }
        bytes.append(Data(count: 64))
        let file = scratch.appendingPathComponent("bad.gguf")
        try bytes.write(to: file)
        let out = scratch.appendingPathComponent("converted")
        try expectFailure(["convert", file.path, "--out", out.path], mentions: ["bad.gguf", "blk.0.attn_q.weight", "99"], noOutput: out)
    }

    @Test func seqlenLongerThanText() throws {
        let short = scratch.appendingPathComponent("fifty.txt")
        try String(repeating: "x", count: 50).write(to: short, atomically: true, encoding: .utf8)
        try expectFailure(["eval", "--model", tiny.path, "--data", short.path, "--seqlen", "100"], ranks: 2,
                          mentions: ["fifty.txt", "50 tokens", "--seqlen 100"])
    }

    @Test func moreRanksThanBlocks() throws {
        try expectFailure(eval(tiny), ranks: 3, mentions: ["3 ranks", "2 blocks"])
    }

    func prune(_ extra: [String], out: URL) -> [String] {
        ["prune", "--model", tiny.path, "--out", out.path, "--calib", text.path, "--nsamples", "2", "--seqlen", "16"] + extra
    }

    @Test func badSparsityIsAUsageError() throws {
        let out = scratch.appendingPathComponent("s12")
        try expectFailure(prune(["--sparsity", "1.2"], out: out), ranks: 2, mentions: ["--sparsity 1.2"], noOutput: out)
    }

    @Test func badNMPatterns() throws {
        let out = scratch.appendingPathComponent("nm")
        try expectFailure(prune(["--pattern", "4:4"], out: out), mentions: ["--pattern 4:4"], noOutput: out)
        try expectFailure(prune(["--pattern", "2:5"], out: out), mentions: ["--pattern 2:5", "hidden_size 32"], noOutput: out)
    }

    /// Needs real outlier ratios (a random tiny model has nearly equal ones), so it runs SmolLM2
    /// with two short windows.
    @Test func owlLambdaTooLargeNamesBlockAndLimit() throws {
        let out = scratch.appendingPathComponent("lambda")
        let model = try RepoPaths.require(RepoPaths.smolHF).path
        try expectFailure(["prune", "--model", model, "--out", out.path, "--calib", text.path, "--nsamples", "2",
                           "--seqlen", "32", "--sparsity", "0.9", "--allocation", "owl", "--owl-lambda", "0.5"], ranks: 2,
                          mentions: ["--owl-lambda 0.5", "block", "largest valid value"], noOutput: out)
    }

    @Test func atpBetaTooLarge() throws {
        let out = scratch.appendingPathComponent("beta")
        try expectFailure(prune(["--sparsity", "0.9", "--allocation", "atp", "--atp-beta", "0.5"], out: out),
                          mentions: ["--atp-beta"], noOutput: out)
    }

    @Test func calibrationShorterThanOneWindow() throws {
        let out = scratch.appendingPathComponent("calibout")
        let short = scratch.appendingPathComponent("four-bytes.txt")
        try "tiny".write(to: short, atomically: true, encoding: .utf8)
        try expectFailure(["prune", "--model", tiny.path, "--out", out.path, "--calib", short.path, "--nsamples", "2",
                           "--seqlen", "16"], ranks: 2, mentions: ["four-bytes.txt", "--seqlen 16"], noOutput: out)
    }

    /// Issue 10 item 5: an error every rank meets is printed once (by rank 0), one only rank 1
    /// meets is printed once by rank 1, and a plain process prints no MPICH `Abort(…)` banner.
    @Test func fatalErrorIsPrintedOncePerJob() throws {
        for ranks in [2, 3] {
            let run = try MPIRun.run(eval(scratch.appendingPathComponent("absent")), ranks: ranks, timeout: 60)
            let lines = run.stderr.split(separator: "\n").filter { $0.contains("owlprune: rank") }
            #expect(run.status != 0 && lines.count == 1 && lines[0].hasPrefix("owlprune: rank 0: "), "\(ranks) ranks: \(run.stderr)")
        }
        // Block 1 belongs to rank 1 of 2, so only rank 1 reads the NaN.
        let nan = scratch.appendingPathComponent("nan-case")
        try? FileManager.default.removeItem(at: nan)
        try FileManager.default.createDirectory(at: nan, withIntermediateDirectories: true)
        let args = try BadInputFixtures.weight(nan, tensor: "model.layers.1.mlp.up_proj.weight", element: 2, value: .nan)
        let run = try MPIRun.run(args, ranks: 2, timeout: 60)
        let lines = run.stderr.split(separator: "\n").filter { $0.contains("owlprune: rank") }
        #expect(run.status != 0 && lines == ["owlprune: rank 1: model.safetensors: tensor 'model.layers.1.mlp.up_proj.weight' holds nan at element 2; weights must be finite"],
                "\(run.stderr)")

        let single = try MPIRun.run(eval(scratch.appendingPathComponent("absent")), ranks: nil, timeout: 60)
        #expect(single.status == 64 && !single.stderr.contains("Abort(") && single.stderr.split(separator: "\n").count == 1, "\(single.stderr)")
    }

    @Test func existingOutputNeedsForce() throws {
        let out = scratch.appendingPathComponent("exists")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try expectFailure(prune([], out: out), mentions: ["exists", "--force"])
        let marker = try FileManager.default.contentsOfDirectory(atPath: out.path)
        #expect(marker.isEmpty, "the existing directory was touched")
    }
}
