import Checkpoint
import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `--out` and `--force` cannot lose data, and faults leave nothing half-written (issue 10
/// items 3, 6 and 7): replacing owlprune's own output, the `--out .` refusal, the run lock held
/// by another process and real concurrent runs, a Hugging Face cache snapshot made of symlinks,
/// and a full disk (small tmpfs mounts) under `convert` and `prune`.
@Suite(.serialized) struct OutputSafetyTests {
    typealias F = BadInputFixtures
    let scratch: URL
    let model: URL
    let text: URL

    init() throws {
        scratch = try scratchDirectory("outsafety")
        (model, text) = try F.tiny(in: scratch)
    }

    func entries(_ dir: URL) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted() }

    func owlLines(_ stderr: String) -> [Substring] { stderr.split(separator: "\n").filter { $0.hasPrefix("owlprune: rank") } }

    @Test func forceReplacesOnlyOwnOutput() throws {
        let out = scratch.appendingPathComponent("pruned")
        let first = try MPIRun.run(F.prune(model, text, out: out), ranks: 2, timeout: 120)
        #expect(first.status == 0, "\(first.stderr)")
        let again = try MPIRun.run(F.prune(model, text, out: out, ["--force", "--sparsity", "0.25"]), ranks: 2, timeout: 120)
        #expect(again.status == 0, "\(again.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("owlprune-report.json"))) as! [String: Any]
        #expect(report["target_sparsity"] as? Double == 0.25, "the second run's output is not in place")
        #expect(!entries(scratch).contains { $0.contains(".old-") || $0.contains(".tmp-") || $0.hasSuffix(".lock") }, "\(entries(scratch))")

        // A convert output carries only the marker, and --force may replace it too.
        let converted = scratch.appendingPathComponent("converted")
        let gguf = try TinyLlamaGGUF().write(to: scratch.appendingPathComponent("tiny.gguf"))
        let conv = try MPIRun.run(["convert", gguf.path, "--out", converted.path], ranks: nil, timeout: 60)
        #expect(conv.status == 0 && entries(converted).contains(StagedDirectory.markerFileName), "\(conv.stderr)")
        let over = try MPIRun.run(F.prune(model, text, out: converted, ["--force"]), ranks: nil, timeout: 120)
        #expect(over.status == 0 && entries(converted).contains("owlprune-report.json"), "\(over.stderr)")
    }

    @Test func outDotIsRefused() throws {
        let work = scratch.appendingPathComponent("work")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        try "precious".write(to: work.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        for force in [false, true] {
            let run = try MPIRun.run(["prune", "--model", model.path, "--out", ".", "--calib", text.path, "--nsamples", "2",
                                      "--seqlen", "16", "--sparsity", "0.5"] + (force ? ["--force"] : []),
                                     ranks: nil, timeout: 60, currentDirectory: work)
            #expect(run.status != 0)
            #expect(run.stderr == "owlprune: rank 0: --out \(work.path) is or contains the current directory; choose a new directory for the output\n")
            #expect(entries(work) == ["notes.txt"])
        }
    }

    /// Another process holds the lock: the run fails at once (well before any work) with one line.
    @Test func heldLockFailsAtOnce() throws {
        let out = scratch.appendingPathComponent("locked")
        let lockPath = scratch.appendingPathComponent(".locked.lock").path
        let fd = open(lockPath, O_RDWR | O_CREAT, 0o644)
        #expect(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
        defer { close(fd); unlink(lockPath) }
        for ranks in [nil, 2] as [Int?] {
            let start = Date()
            let run = try MPIRun.run(F.prune(model, text, out: out), ranks: ranks, timeout: 60)
            #expect(run.status != 0)
            let lines = owlLines(run.stderr)
            #expect(lines == ["owlprune: rank 0: --out \(out.path) is in use by another owlprune run (its lock is held); wait for it to finish or choose another --out"],
                    "\(run.stderr)")
            #expect(Date().timeIntervalSince(start) < 10)
            #expect(!entries(scratch).contains { $0.hasPrefix("locked") }, "\(entries(scratch))")
        }
    }

    /// Three runs started together on one --out: exactly one wins, the others say why in one line,
    /// and what is left is one complete checkpoint with nothing beside it.
    @Test func concurrentRunsOnOneOut() throws {
        let out = scratch.appendingPathComponent("raced")
        let outcomes = LockedOutcomes()
        DispatchQueue.concurrentPerform(iterations: 3) { _ in
            if let run = try? MPIRun.run(F.prune(model, text, out: out), ranks: nil, timeout: 120) { outcomes.append(run) }
        }
        let runs = outcomes.all
        #expect(runs.count == 3)
        #expect(runs.filter { $0.status == 0 }.count == 1, "\(runs.map(\.stderr))")
        for run in runs where run.status != 0 {
            let lines = owlLines(run.stderr)
            #expect(lines.count == 1 && (lines[0].contains("is in use by another owlprune run") || lines[0].contains("already exists")),
                    "\(run.stderr)")
        }
        let dir = try CheckpointDirectory(url: out)
        try dir.validateAllShards()
        #expect(entries(scratch).filter { $0.contains("raced") } == ["raced"], "\(entries(scratch))")
    }

    /// A Hugging Face cache snapshot: every file is a relative symlink into `blobs/`. It is read
    /// through the links and the output holds regular files.
    @Test func cacheSnapshotOfSymlinks() throws {
        let cache = scratch.appendingPathComponent("models--tiny")
        let blobs = cache.appendingPathComponent("blobs")
        let snapshot = cache.appendingPathComponent("snapshots/0123abcd")
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: snapshot, withIntermediateDirectories: true)
        for (i, name) in ["config.json", "model.safetensors", "tokenizer.json"].enumerated() {
            try FileManager.default.copyItem(at: model.appendingPathComponent(name), to: blobs.appendingPathComponent("blob\(i)"))
            try FileManager.default.createSymbolicLink(atPath: snapshot.appendingPathComponent(name).path,
                                                       withDestinationPath: "../../blobs/blob\(i)")
        }
        let out = scratch.appendingPathComponent("from-snapshot")
        let run = try MPIRun.run(F.prune(snapshot, text, out: out), ranks: 2, timeout: 120)
        #expect(run.status == 0, "\(run.stderr)")
        for name in entries(out) {
            let attributes = try FileManager.default.attributesOfItem(atPath: out.appendingPathComponent(name).path)
            #expect(attributes[.type] as? FileAttributeType == .typeRegular, "\(name) is \(attributes[.type] ?? "?")")
        }
        #expect(entries(out).contains("tokenizer.json"))
        let eval = try MPIRun.run(F.eval(out, text), ranks: nil, timeout: 60)
        #expect(eval.status == 0, "\(eval.stderr)")
    }

    /// `convert` and `prune` onto a tmpfs too small for the result, at several sizes: one line
    /// naming the cause, and the file system left empty (no OUT, no OUT.tmp-*, no lock file).
    /// A size that fits proves the setup can succeed at all.
    @Test func fullDiskLeavesNothing() throws {
        guard getuid() == 0 else {
            Issue.record("needs root to mount a tmpfs")
            return
        }
        let gguf = try TinyLlamaGGUF().write(to: scratch.appendingPathComponent("disk.gguf"))
        let mount = scratch.appendingPathComponent("disk")
        try FileManager.default.createDirectory(at: mount, withIntermediateDirectories: true)
        for command in ["convert", "prune"] {
            for kilobytes in [8, 24, 64, 120, 2048] {
                #expect(try run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(kilobytes)k", "tmpfs", mount.path]) == 0)
                defer { _ = try? run("/bin/umount", [mount.path]) }
                let out = mount.appendingPathComponent("out")
                let args = command == "convert" ? ["convert", gguf.path, "--out", out.path] : F.prune(model, text, out: out)
                let result = try MPIRun.run(args, ranks: command == "prune" ? 2 : nil, timeout: 120)
                if kilobytes == 2048 {
                    #expect(result.status == 0, "\(command) into \(kilobytes)k: \(result.stderr)")
                    continue
                }
                #expect(result.status != 0, "\(command) into \(kilobytes)k succeeded")
                let lines = owlLines(result.stderr)
                #expect(lines.count == 1 && lines[0].lowercased().contains("no space left on device"),
                        "\(command) into \(kilobytes)k: \(result.stderr)")
                // OUT.partial is the resume journal, kept on purpose after a failure.
                #expect(entries(mount).filter { !$0.hasSuffix(".partial") }.isEmpty, "\(command) into \(kilobytes)k left \(entries(mount))")
            }
        }
    }

    private func run(_ tool: String, _ args: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }
}

private final class LockedOutcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var runs: [MPIRun.Outcome] = []
    func append(_ run: MPIRun.Outcome) { lock.withLock { runs.append(run) } }
    var all: [MPIRun.Outcome] { lock.withLock { runs } }
}

/// Memory before work (issue 10 item 2): a run whose estimate exceeds the limit is refused before
/// the windows are drawn, with one line naming the flags; `--max-memory` moves the limit both ways.
@Suite(.serialized) struct MemoryCheckTests {
    typealias F = BadInputFixtures

    @Test func refusedBeforeWorkAndOverridable() throws {
        let scratch = try scratchDirectory("memory")
        let (model, text) = try F.tiny(in: scratch)
        let out = scratch.appendingPathComponent("out")
        // Below the tiny model's own blocks: refused, naming the dominant term's remedy.
        let low = try MPIRun.run(F.prune(model, text, out: out, ["--threads", "1", "--max-memory", "64KiB"]), ranks: nil, timeout: 60)
        let lines = low.stderr.split(separator: "\n").filter { $0.hasPrefix("owlprune:") }
        #expect(low.status != 0 && lines.count == 1, "\(low.stderr)")
        #expect(lines.first?.contains("but 64.0 KiB is available (--max-memory); run more ranks on more nodes, or pass --max-memory to override") == true,
                "\(low.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
        // Enough: the same run succeeds.
        let high = try MPIRun.run(F.prune(model, text, out: out, ["--threads", "1", "--max-memory", "1GiB"]), ranks: nil, timeout: 60)
        #expect(high.status == 0, "\(high.stderr)")

        // Far more windows than this machine holds: refused in well under a second, naming the flags.
        let start = Date()
        let huge = try MPIRun.run(F.prune(model, text, out: scratch.appendingPathComponent("huge"),
                                          ["--threads", "1", "--nsamples", "100000000", "--seqlen", "64"]), ranks: 2, timeout: 60)
        let hugeLines = huge.stderr.split(separator: "\n").filter { $0.hasPrefix("owlprune:") }
        #expect(huge.status != 0 && hugeLines.count == 1, "\(huge.stderr)")
        #expect(hugeLines.first?.contains("of activations for --nsamples 100000000 × --seqlen 64") == true
                && hugeLines.first?.contains("lower --nsamples or --seqlen, or pass --max-memory to override") == true, "\(huge.stderr)")
        #expect(Date().timeIntervalSince(start) < 10)
    }
}
