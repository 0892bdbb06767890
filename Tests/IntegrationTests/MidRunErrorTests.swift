import Foundation
import TestSupport
import Testing

/// Issue 10 item 5: an error that one rank finds in the middle of a two-rank prune is printed
/// once, by that rank, with its real cause, and nothing is left in `OUT.tmp-*`: the failing rank
/// stops its peer before it removes the staging directory (`FailureNotice`). Block 1's
/// `down_proj` is all `Float.greatestFiniteMagnitude` — finite, so it passes the weight check —
/// and overflows block 1's output, so block 2's statistics, gathered by rank 1 (blocks 2–3 of 4),
/// are not finite.
@Suite(.serialized) struct MidRunErrorTests {
    @Test func rankOneErrorIsPrintedOnceAndLeavesNothing() throws {
        let scratch = try scratchDirectory("midrun")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let model = scratch.appendingPathComponent("overflow")
        try TinyCheckpoint.write(to: model, blocks: 4)
        try fill(model.appendingPathComponent("model.safetensors"), tensor: "model.layers.1.mlp.down_proj.weight",
                 with: .greatestFiniteMagnitude)
        let text = scratch.appendingPathComponent("text.txt")
        try BadInputFixtures.calibrationText.write(to: text, atomically: true, encoding: .utf8)
        for variant in [["--split", "blocks", "--propagation", "dense"], ["--split", "blocks"], ["--split", "windows"]] {
            for attempt in 0..<2 {
                let parent = scratch.appendingPathComponent("run-\(variant.joined())-\(attempt)")
                try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
                let out = parent.appendingPathComponent("out")
                let run = try MPIRun.run(BadInputFixtures.prune(model, text, out: out, ["--nsamples", "4"] + variant),
                                         ranks: 2, timeout: 60)
                let lines = run.stderr.split(separator: "\n").filter { $0.hasPrefix("owlprune: rank") }
                #expect(run.status != 0 && lines.count == 1 && lines[0].contains("model.layers.2.")
                        && lines[0].contains("not finite"), "\(variant): \(run.stderr)")
                let left = try FileManager.default.contentsOfDirectory(atPath: parent.path).filter { !$0.hasSuffix(".partial") }
                #expect(left.isEmpty, "\(variant): left \(left)")
            }
        }
    }

    private func fill(_ file: URL, tensor: String, with value: Float) throws {
        var bytes = try Data(contentsOf: file)
        let n = Int(bytes.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
        let header = try JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + n))) as! [String: Any]
        let span = (header[tensor] as! [String: Any])["data_offsets"] as! [Int]
        var pattern = Data()
        withUnsafeBytes(of: value.bitPattern.littleEndian) { pattern.append(contentsOf: $0) }
        for at in stride(from: 8 + n + span[0], to: 8 + n + span[1], by: 4) { bytes.replaceSubrange(at..<(at + 4), with: pattern) }
        try bytes.write(to: file)
    }
}
