import Foundation
import TestSupport
import Testing

/// Issue 10 items 4 and 7: a rank killed with SIGKILL during statistics, pruning or writing leaves
/// no `OUT/`; `--resume` cleans up the killed run's staging directory and writes output
/// byte-identical to an uninterrupted run, after which only `OUT/` remains; a kill after the
/// rename leaves a complete `OUT/`. A plain rerun that finds a journal says so, and `--resume`
/// after each kind of change (every flag that decides the bits, the calibration windows, the
/// model's config and safetensors headers) refuses in one line naming what changed.
@Suite(.serialized) struct ResumeBindingTests {
    let scratch: URL
    let model: URL
    let text: URL

    init() throws {
        scratch = try scratchDirectory("resume-binding")
        (model, text) = try BadInputFixtures.tiny(in: scratch, blocks: 4)
    }

    func arguments(model: URL? = nil, out: URL, _ extra: [String] = []) -> [String] {
        ["prune", "--model", (model ?? self.model).path, "--out", out.path, "--calib", text.path, "--nsamples", "4",
         "--seqlen", "16", "--sparsity", "0.5", "--method", "wanda", "--allocation", "owl", "--split", "blocks"] + extra
    }

    func prune(model: URL? = nil, out: URL, ranks: Int? = nil, _ extra: [String] = [],
               kill: (point: String, rank: Int)? = nil) throws -> MPIRun.Outcome {
        let env = kill.map { ["OWLPRUNE_FAULT_KILL_AT": $0.point, "OWLPRUNE_FAULT_KILL_RANK": String($0.rank)] } ?? [:]
        return try MPIRun.run(arguments(model: model, out: out, extra), ranks: ranks, timeout: 120, environment: env)
    }

    func entries(_ dir: URL) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted() }

    func owlLines(_ stderr: String) -> [Substring] { stderr.split(separator: "\n").filter { $0.hasPrefix("owlprune: rank") } }

    /// What is beside `out` in `parent` (OUT itself, its staging directories, journal and lock).
    func outputsBeside(_ out: URL, in parent: URL) -> [String] {
        let name = out.lastPathComponent
        return entries(parent).filter { $0 == name || $0.hasPrefix(name + ".") || $0.hasPrefix("." + name + ".") }
    }

    @Test func killInEachPhaseThenResumeIsByteIdentical() throws {
        defer { try? FileManager.default.removeItem(at: scratch) }
        let reference = scratch.appendingPathComponent("reference")
        let clean = try prune(out: reference, ranks: 2)
        #expect(clean.status == 0, "\(clean.stderr)")
        #expect(outputsBeside(reference, in: scratch) == ["reference"], "after success: \(entries(scratch))")

        // Rank 1 owns blocks 2–3: killed in the OWL statistics pass, while pruning block 3, and
        // before block 2 enters its shard; rank 0 killed right after the rename.
        let faults: [(String, Int)] = [("statistics: block 3", 1), ("prune: block 4", 1), ("write block 2", 1), ("renamed", 0)]
        for (index, fault) in faults.enumerated() {
            let parent = scratch.appendingPathComponent("fault\(index)")
            try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
            let out = parent.appendingPathComponent("out")
            let killed = try prune(out: out, ranks: 2, kill: fault)
            #expect(killed.status != 0 && !killed.timedOut, "\(fault): status \(killed.status)")
            if fault.0 == "renamed" {
                #expect(try differingTensors(reference, out).isEmpty, "kill after the rename: OUT/ incomplete")
                let again = try prune(out: out)
                #expect(again.status != 0 && owlLines(again.stderr).count == 1 && again.stderr.contains("already exists"),
                        "\(again.stderr)")
                continue
            }
            #expect(!FileManager.default.fileExists(atPath: out.path), "\(fault): OUT/ appeared after a killed rank")
            #expect(outputsBeside(out, in: parent).contains { $0.hasPrefix("out.tmp-") },
                    "\(fault): expected the killed run's staging directory, found \(entries(parent))")
            let resumed = try prune(out: out, ["--resume"])
            #expect(resumed.status == 0, "\(fault): \(resumed.stderr)")
            #expect(resumed.stderr.contains("staging directory of an interrupted run"), "\(fault): \(resumed.stderr)")
            #expect(try differingTensors(reference, out).isEmpty, "\(fault): resumed output differs from the uninterrupted run")
            let planA = try Data(contentsOf: reference.appendingPathComponent("owlprune-plan.json"))
            let planB = try Data(contentsOf: out.appendingPathComponent("owlprune-plan.json"))
            #expect(planA == planB, "\(fault): plans differ")
            #expect(outputsBeside(out, in: parent) == ["out"], "\(fault): left \(entries(parent))")
        }
    }

    @Test func plainRerunAndEveryChangeAreRefused() throws {
        defer { try? FileManager.default.removeItem(at: scratch) }
        let reference = scratch.appendingPathComponent("reference")
        #expect(try prune(out: reference).status == 0)
        let out = scratch.appendingPathComponent("out")
        let killed = try prune(out: out, ranks: 2, kill: ("write block 2", 1))
        #expect(killed.status != 0 && !killed.timedOut)

        let plain = try prune(out: out)
        let plainLines = owlLines(plain.stderr)
        #expect(plain.status != 0 && plainLines.count == 1
                && plainLines[0].contains("finished block(s) of an interrupted run; pass --resume to continue from it or --force to discard it"),
                "\(plain.stderr)")

        // A model whose tensors are the same bytes under a different header (metadata added), and
        // one whose config.json differs only in rms_norm_eps.
        let reheadered = scratch.appendingPathComponent("reheadered")
        try FileManager.default.copyItem(at: model, to: reheadered)
        try addHeaderMetadata(reheadered.appendingPathComponent("model.safetensors"))
        let reconfigured = scratch.appendingPathComponent("reconfigured")
        try FileManager.default.copyItem(at: model, to: reconfigured)
        let configURL = reconfigured.appendingPathComponent("config.json")
        let config = try String(contentsOf: configURL, encoding: .utf8)
        try config.replacingOccurrences(of: "\"rms_norm_eps\": 1e-05", with: "\"rms_norm_eps\": 2e-05")
            .write(to: configURL, atomically: true, encoding: .utf8)
        #expect(try String(contentsOf: configURL, encoding: .utf8) != config, "config edit did not apply: \(config)")
        let otherText = scratch.appendingPathComponent("other.txt")
        try String(repeating: "Pack my box with five dozen liquor jugs. ", count: 40).write(to: otherText, atomically: true, encoding: .utf8)

        let changes: [(extra: [String], model: URL?, expected: String)] = [
            (["--sparsity", "0.6"], nil, "--sparsity 0.5 → 0.6"),
            (["--method", "sparsegpt"], nil, "--method wanda → sparsegpt"),
            (["--owl-lambda", "0.1"], nil, "--allocation owl (--owl-m 5.0, --owl-lambda 0.08) → owl (--owl-m 5.0, --owl-lambda 0.1)"),
            (["--owl-m", "4"], nil, "--owl-m 5.0, --owl-lambda 0.08) → owl (--owl-m 4.0"),
            (["--allocation", "uniform"], nil, "--allocation owl (--owl-m 5.0, --owl-lambda 0.08) → uniform"),
            (["--pattern", "2:4"], nil, "--pattern unstructured → 2:4"),
            (["--propagation", "dense"], nil, "--propagation sequential → dense"),
            (["--dsnot"], nil, "--dsnot off → on"),
            (["--dass"], nil, "--dass off → on"),
            (["--nsamples", "2"], nil, "calibration windows 4 × 16 tokens"),
            (["--seed", "7"], nil, "--seed 0 → 7"),
            (["--calib", otherText.path], nil, "calibration windows"),
            ([], reheadered, "model safetensors headers"),
            ([], reconfigured, "model config.json"),
        ]
        for change in changes {
            let run = try prune(model: change.model, out: out, ["--resume"] + change.extra)
            let lines = owlLines(run.stderr)
            #expect(run.status != 0 && lines.count == 1 && lines[0].contains("--resume: the journal")
                    && lines[0].contains("was written with different settings") && lines[0].contains(change.expected),
                    "\(change.extra) \(change.model?.lastPathComponent ?? ""): \(run.stderr)")
        }
        // --damp decides nothing for Wanda, so it does not block a resume; the same settings resume.
        let resumed = try prune(out: out, ranks: 2, ["--resume", "--damp", "0.05"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try differingTensors(reference, out).isEmpty, "resumed output differs from the uninterrupted run")
        #expect(outputsBeside(out, in: scratch) == ["out"], "left \(entries(scratch))")
    }

    /// Adds `"note":"re-export"` to a safetensors header's `__metadata__` (padded with spaces to a
    /// multiple of 8), leaving every tensor's bytes as they were.
    private func addHeaderMetadata(_ url: URL) throws {
        let bytes = try Data(contentsOf: url)
        let n = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        var header = String(decoding: bytes[8..<(8 + n)], as: UTF8.self).trimmingCharacters(in: .whitespaces)
        let key = "\"__metadata__\":{"
        if header.contains(key) {
            header = header.replacingOccurrences(of: key, with: key + "\"note\":\"re-export\",")
        } else {
            header.removeFirst()  // "{"
            header = "{\"__metadata__\":{\"note\":\"re-export\"}," + header
        }
        while (8 + header.utf8.count) % 8 != 0 { header += " " }
        var out = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(Data(header.utf8))
        out.append(bytes[(8 + n)...])
        try out.write(to: url)
    }
}
