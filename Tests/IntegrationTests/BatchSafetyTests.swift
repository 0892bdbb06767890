import Checkpoint
import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 26 items 2, 3 and 5, table-driven: nothing outside the output is written or removed
/// (planted symbolic links, device nodes and FIFOs made here with `mknod`, never the real `/dev`
/// ones, a user's own `OUT.tmp-mine`), sweeps never merge cells, and environment values owlprune
/// cannot use are refused. Every case checks the one line printed, the status and that the
/// victim is untouched; the controls (a plain file at the same path is replaced with `--force`, a
/// marker that names its own run id is removed as stale) show each check can fail.
@Suite(.serialized) struct BatchSafetyTests {
    typealias F = BadInputFixtures
    let scratch: URL
    let model: URL
    let text: URL

    init() throws {
        scratch = try scratchDirectory("batchsafety")
        (model, text) = try F.tiny(in: scratch)
    }

    func owlLines(_ stderr: String) -> [Substring] { stderr.split(separator: "\n").filter { $0.hasPrefix("owlprune:") } }

    func fresh(_ name: String) throws -> URL {
        let dir = scratch.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// `--out` naming a character device, a FIFO or a socket is refused with or without --force,
    /// by every command that writes a file or a directory; the node is still there afterwards.
    @Test func specialFilesAreNeverReplaced() throws {
        let dir = try fresh("special")
        let gguf = try TinyLlamaGGUF().write(to: dir.appendingPathComponent("tiny.gguf"))
        let device = dir.appendingPathComponent("null-copy")
        let fifo = dir.appendingPathComponent("fifo")
        // A copy of /dev/null's device numbers (1, 3) under our own name; mkfifo for the FIFO.
        #expect(mknod(device.path, S_IFCHR | 0o666, dev_t(0x103)) == 0, "mknod needs root")  // gnu_dev_makedev(1, 3)
        #expect(mkfifo(fifo.path, 0o644) == 0)
        for target in [device, fifo] {
            for force in [false, true] {
                let commands: [[String]] = [
                    ["convert", model.path, "--to", "gguf", "--out", target.path],
                    ["convert", gguf.path, "--out", target.path],
                    ["tokenize", "--model", model.path, "--text", text.path, "--out", target.path],
                    ["plan", "--model", model.path, "--calib", text.path, "--nsamples", "2", "--seqlen", "16", "--out", target.path],
                    F.prune(model, text, out: target),
                ]
                for command in commands {
                    let args = command + (force && command[0] != "tokenize" && command[0] != "plan" ? ["--force"] : [])
                    let run = try MPIRun.run(args, ranks: nil, timeout: 60)
                    let lines = owlLines(run.stderr)
                    #expect(run.status != 0 && lines.count == 1 && lines[0].contains("not a regular file or directory"),
                            "\(args.joined(separator: " ")): \(run.stderr)")
                    var info = stat()
                    #expect(lstat(target.path, &info) == 0 && info.st_mode & S_IFMT != S_IFREG, "\(target.lastPathComponent) was replaced")
                }
            }
        }
        // Control: a regular file at the same kind of path is replaced.
        let plain = dir.appendingPathComponent("plain.ids")
        try Data("old".utf8).write(to: plain)
        let run = try MPIRun.run(["tokenize", "--model", model.path, "--text", text.path, "--out", plain.path], ranks: nil, timeout: 60)
        let written = try Data(contentsOf: plain)
        #expect(run.status == 0 && written.count > 3, "\(run.stderr)")
    }

    /// A symbolic link planted at the output's lock path is refused, and its target untouched.
    @Test func plantedLockLinkIsNotFollowed() throws {
        let dir = try fresh("lock")
        let victim = dir.appendingPathComponent("victim.txt")
        try Data("precious".utf8).write(to: victim)
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent(".out.lock").path, withDestinationPath: victim.path)
        let run = try MPIRun.run(F.prune(model, text, out: out), ranks: nil, timeout: 60)
        #expect(run.status != 0 && owlLines(run.stderr).count == 1 && run.stderr.contains("symbolic link"), "\(run.stderr)")
        let kept = try Data(contentsOf: victim)
        #expect(kept == Data("precious".utf8))
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    /// A user's own `OUT.tmp-mine` (even holding a copied marker) is not stale staging; a real
    /// leftover whose marker names its own run id is (the control).
    @Test func onlyOwnStagingIsRemoved() throws {
        let dir = try fresh("stale")
        let out = dir.appendingPathComponent("out")
        let mine = dir.appendingPathComponent("out.tmp-mine")
        try FileManager.default.createDirectory(at: mine, withIntermediateDirectories: true)
        try Data("written by owlprune run 0123456789abcdef; `--force` may replace this directory\n".utf8)
            .write(to: mine.appendingPathComponent(StagedDirectory.markerFileName))
        try Data("keep me".utf8).write(to: mine.appendingPathComponent("notes.txt"))
        let leftover = dir.appendingPathComponent("out.tmp-0123456789abcdef")
        try FileManager.default.createDirectory(at: leftover, withIntermediateDirectories: true)
        try Data("written by owlprune run 0123456789abcdef; `--force` may replace this directory\n".utf8)
            .write(to: leftover.appendingPathComponent(StagedDirectory.markerFileName))
        let run = try MPIRun.run(F.prune(model, text, out: out), ranks: nil, timeout: 60)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: mine.appendingPathComponent("notes.txt").path), "the user's directory was removed")
        #expect(!FileManager.default.fileExists(atPath: leftover.path), "control: the real leftover was not removed")
    }

    /// Sweep cells are their exact values: sparsities that agree to four digits are two cells with
    /// two ids; a value given twice, or a shared option naming a grid axis, is refused in one line.
    @Test func sweepCellsNeverMerge() throws {
        let dir = try fresh("sweep")
        let base = ["sweep", "--model", model.path, "--calib", text.path, "--eval", text.path, "--nsamples", "2", "--seqlen", "16",
                    "--eval-seqlen", "16", "--eval-windows", "2", "--method", "magnitude", "--allocation", "uniform"]
        let refused: [([String], String)] = [
            (["--sparsity", "0.5,0.50"], "--sparsity lists 0.5 twice"),
            (["--sparsity", "0.3", "--prune-option=--sparsity=0.9"], "would override every cell's own"),
            (["--sparsity", "0.3", "--prune-option=--method=sparsegpt"], "would override every cell's own"),
        ]
        for (i, (extra, message)) in refused.enumerated() {
            let run = try MPIRun.run(base + extra + ["--out", dir.appendingPathComponent("r\(i)").path], ranks: nil, timeout: 60)
            #expect(run.status != 0 && owlLines(run.stderr).count == 1 && run.stderr.contains(message), "\(extra): \(run.stderr)")
        }
        let out = dir.appendingPathComponent("close")
        let run = try MPIRun.run(base + ["--sparsity", "0.30001,0.30002", "--out", out.path], ranks: nil, timeout: 120)
        #expect(run.status == 0, "\(run.stderr)")
        let sweep = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("sweep.json"))) as? [String: Any]
        let cells = (sweep?["cells"] as? [[String: Any]]) ?? []
        let sparsities = Set(cells.compactMap { ($0["cell"] as? [String: Any])?["sparsity"] as? Double })
        #expect(sparsities == [0.30001, 0.30002], "\(sparsities)")
    }

    /// A value owlprune cannot use in a variable it reads is refused before any work.
    @Test func unusableEnvironmentValuesAreRefused() throws {
        let dir = try fresh("env")
        for (name, value) in [("OWLPRUNE_BLOCK_WEIGHTS", "brodcast"), ("OWLPRUNE_FAULT_KILL_RANK", "one")] {
            let run = try MPIRun.run(F.prune(model, text, out: dir.appendingPathComponent("out")), ranks: 2, timeout: 60,
                                     environment: [name: value])
            let lines = owlLines(run.stderr)
            #expect(run.status == 64 && lines.count == 1 && lines[0].contains("\(name)=\(value)"), "\(name): \(run.stderr)")
        }
        let ok = try MPIRun.run(F.prune(model, text, out: dir.appendingPathComponent("out")), ranks: nil, timeout: 60,
                                environment: ["OWLPRUNE_BLOCK_WEIGHTS": "broadcast"])
        #expect(ok.status == 0, "control: a valid value: \(ok.stderr)")
    }
    /// A FIFO in place of a weight shard or the calibration text is refused at once, naming what
    /// it is (it used to hang in `open`, or read as "permission denied"); a plain copy of the same
    /// file is the control.
    @Test func fifoInputsAreRefusedWithoutHanging() throws {
        let dir = try fresh("fifo-inputs")
        let fifoText = dir.appendingPathComponent("calib.fifo")
        #expect(mkfifo(fifoText.path, 0o644) == 0)
        let run = try MPIRun.run(["prune", "--model", model.path, "--out", dir.appendingPathComponent("a").path, "--calib", fifoText.path,
                                  "--nsamples", "2", "--seqlen", "16"], ranks: nil, timeout: 30)
        #expect(run.status != 0 && !run.timedOut && run.stderr.contains("is a FIFO or pipe, not a regular file"), "\(run.stderr)")
        let shardless = dir.appendingPathComponent("model")
        try FileManager.default.copyItem(at: model, to: shardless)
        let shard = shardless.appendingPathComponent("model.safetensors")
        let control = try MPIRun.run(F.eval(shardless, text), ranks: nil, timeout: 30)
        #expect(control.status == 0, "control: the copied model evaluates: \(control.stderr)")
        try FileManager.default.removeItem(at: shard)
        #expect(mkfifo(shard.path, 0o644) == 0)
        let hung = try MPIRun.run(F.eval(shardless, text), ranks: nil, timeout: 30)
        #expect(hung.status != 0 && !hung.timedOut && hung.stderr.contains("not a regular file"), "\(hung.stderr)")
    }

    /// Weights replaced under the same path by same-shaped ones refuse `--resume` in one line
    /// naming the file; the untouched journal resumes (the control).
    @Test func replacedWeightsRefuseResume() throws {
        let dir = try fresh("replaced")
        let local = dir.appendingPathComponent("model")
        try FileManager.default.copyItem(at: model, to: local)
        let out = dir.appendingPathComponent("out")
        let args = F.prune(local, text, out: out, ["--method", "sparsegpt"])
        let killed = try MPIRun.run(args, ranks: nil, timeout: 60, environment: ["OWLPRUNE_FAULT_KILL_AT": "write block 1"])
        #expect(killed.status != 0 && FileManager.default.fileExists(atPath: out.path + ".partial"), "\(killed.stderr)")
        let other = dir.appendingPathComponent("other")
        try TinyCheckpoint.write(to: other, blocks: 2, seed: 7)
        let shard = local.appendingPathComponent("model.safetensors")
        let original = try Data(contentsOf: shard)
        try FileManager.default.removeItem(at: shard)
        try FileManager.default.copyItem(at: other.appendingPathComponent("model.safetensors"), to: shard)
        let refused = try MPIRun.run(args + ["--resume"], ranks: nil, timeout: 60)
        #expect(refused.status != 0 && owlLines(refused.stderr).count == 1 && refused.stderr.contains("model weights model.safetensors"),
                "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.path), "a result was written from mixed weights")
        // Control: the original file back (a new inode, so the journal is still refused), then a
        // fresh journal from the same weights resumes.
        try FileManager.default.removeItem(at: shard)
        try original.write(to: shard)
        let again = try MPIRun.run(args + ["--force"], ranks: nil, timeout: 60, environment: ["OWLPRUNE_FAULT_KILL_AT": "write block 1"])
        #expect(again.status != 0, "\(again.stderr)")
        let resumed = try MPIRun.run(args + ["--resume"], ranks: nil, timeout: 60)
        #expect(resumed.status == 0 && resumed.stderr.contains("finished block(s) in"), "\(resumed.stderr)")
    }
}
