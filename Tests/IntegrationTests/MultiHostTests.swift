import Foundation
import TestSupport
import Testing

/// Issue 5 item 7: SmolLM2 pruned over 3 "hosts" — network namespaces joined by a bridge, with
/// their own hostnames and IPC, so MPI really talks TCP between them (deploy/netns-cluster) — and
/// byte-identical to a plain one-process run, in both `--split` modes. Needs root, as CI has.
@Suite(.serialized) struct MultiHostTests {
    func script(_ args: [String], timeout: Int = 600) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [RepoPaths.root.appendingPathComponent("deploy/netns-cluster").path] + args
        p.currentDirectoryURL = FileManager.default.temporaryDirectory
        var env = ProcessInfo.processInfo.environment
        env["OWL_TIMEOUT"] = String(timeout)
        env["OPENBLAS_NUM_THREADS"] = "1"
        p.environment = env
        let err = Pipe()
        p.standardError = err
        p.standardOutput = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, text)
    }

    @Test func pruneOverThreeHostsEqualsOneProcess() throws {
        let scratch = try scratchDirectory("netns")
        defer {
            _ = try? script(["down"])
            try? FileManager.default.removeItem(at: scratch)
        }
        let model = try RepoPaths.require(RepoPaths.smolHF).path
        let calib = RepoPaths.wikitext.appendingPathComponent("wiki.valid.tokens").path
        let args = ["prune", "--model", model, "--sparsity", "0.7", "--method", "wanda", "--allocation", "owl",
                    "--calib", calib, "--nsamples", "4", "--seqlen", "128"]
        let single = scratch.appendingPathComponent("single")
        let plain = try MPIRun.run(args + ["--out", single.path], ranks: nil, timeout: 600)
        #expect(plain.status == 0, "\(plain.stderr)")

        let (upStatus, upText) = try script(["up", "3"])
        #expect(upStatus == 0, "netns-cluster up: \(upText)")
        // The default split (windows: the statistics chain and every broadcast cross the hosts)
        // and the blocks split (windows streamed host to host).
        for split in ["windows", "blocks"] {
            let out = scratch.appendingPathComponent("multi-\(split)")
            let (status, text) = try script(["run", "-n", "3", "--", MPIRun.binary.path] + args + ["--split", split, "--out", out.path])
            #expect(status == 0, "3-host prune (--split \(split)) exited \(status): \(text)")
            #expect(try differingTensors(single, out).isEmpty, "3-host output (--split \(split)) differs from one process")
            #expect(try Data(contentsOf: single.appendingPathComponent("owlprune-plan.json"))
                    == Data(contentsOf: out.appendingPathComponent("owlprune-plan.json")))
        }
        let multi = scratch.appendingPathComponent("multi-windows")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: multi.appendingPathComponent("owlprune-report.json"))) as! [String: Any]
        let hosts = (report["per_rank"] as! [[String: Any]]).map { $0["host"] as! String }
        #expect(Set(hosts) == ["owl-h1", "owl-h2", "owl-h3"], "ranks ran on \(hosts)")
        #expect((report["per_rank"] as! [[String: Any]]).allSatisfy { ($0["bytes_sent"] as! Int) >= 0 })
    }
}
