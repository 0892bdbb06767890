import Foundation
import TestSupport
import Testing

/// Issue 26 items 1 and 6: a signal to a prune — from the scheduler to mpiexec (which forwards it
/// to every rank), to one rank only, or to a plain process — stops every rank at the next safe
/// point with one `owlprune:` line that names the signal and `--resume`, exit status 128 + signal,
/// no staging directory and no lock file left, the journal valid: `--resume` then writes the
/// bytes of an uninterrupted run. The job is held at a chosen phase by the fault hook
/// (`OWLPRUNE_FAULT_PAUSE_AT`) and the signal sent from outside by a shell, as `kill` or `scancel`
/// would. Controls: the uninterrupted run itself must differ from a run at another sparsity, so
/// the byte comparison can fail; and a second signal must end the process at once, without the
/// clean stop's work (its line says so).
@Suite(.serialized) struct SignalStopTests {
    struct Case: CustomStringConvertible {
        let ranks: Int?
        let signal: String
        let point: String
        /// Send to the paused rank only, instead of mpiexec (or the plain process).
        let oneRank: Bool
        var extra: [String] = []
        var description: String { "\(ranks.map { "\($0) ranks" } ?? "plain") SIG\(signal) at '\(point)'\(oneRank ? " to one rank" : "")" }
    }

    static let cases: [Case] = [
        Case(ranks: nil, signal: "TERM", point: "prune: block 2", oneRank: false),
        Case(ranks: nil, signal: "INT", point: "statistics: block 2", oneRank: false, extra: ["--allocation", "owl"]),
        Case(ranks: nil, signal: "PIPE", point: "write block 1", oneRank: false),
        Case(ranks: 2, signal: "TERM", point: "prune: block 3", oneRank: false),
        Case(ranks: 2, signal: "INT", point: "statistics: block 1", oneRank: false, extra: ["--allocation", "owl"]),
        Case(ranks: 2, signal: "TERM", point: "write block 2", oneRank: true, extra: ["--split", "blocks"]),
        Case(ranks: 2, signal: "HUP", point: "prune: block 2", oneRank: true),
    ]

    static let numbers = ["TERM": 15, "INT": 2, "HUP": 1, "PIPE": 13]

    @Test func everySignalStopsCleanlyAndResumesToTheSameBytes() throws {
        let scratch = try scratchDirectory("signals")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let (model, text) = try BadInputFixtures.tiny(in: scratch, blocks: 4)
        let reference = scratch.appendingPathComponent("reference")
        let base = ["--nsamples", "4"]
        var control = try MPIRun.run(BadInputFixtures.prune(model, text, out: reference, base), ranks: nil, timeout: 60)
        try #require(control.status == 0, "\(control.stderr)")
        let other = scratch.appendingPathComponent("other")
        control = try MPIRun.run(BadInputFixtures.prune(model, text, out: other, base + ["--sparsity", "0.6"]), ranks: nil, timeout: 60)
        try #require(control.status == 0)
        let want = try Data(contentsOf: reference.appendingPathComponent("model.safetensors"))
        let otherBytes = try Data(contentsOf: other.appendingPathComponent("model.safetensors"))
        #expect(otherBytes != want, "control: the comparison cannot fail")

        for (i, c) in Self.cases.enumerated() {
            let parent = scratch.appendingPathComponent("case-\(i)")
            try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
            let out = parent.appendingPathComponent("out")
            // The reference was made with the default split and allocation: runs with other
            // settings get their own uninterrupted run to compare with.
            var expected = want
            if !c.extra.isEmpty {
                let ref = parent.appendingPathComponent("ref")
                let run = try MPIRun.run(BadInputFixtures.prune(model, text, out: ref, base + c.extra), ranks: nil, timeout: 60)
                try #require(run.status == 0, "\(c): \(run.stderr)")
                expected = try Data(contentsOf: ref.appendingPathComponent("model.safetensors"))
                try FileManager.default.removeItem(at: ref)
            }
            let command = BadInputFixtures.prune(model, text, out: out, base + c.extra)
            let stopped = try Self.interrupt(command, ranks: c.ranks, signal: c.signal, point: c.point, oneRank: c.oneRank)
            let lines = stopped.stderr.split(separator: "\n").filter { $0.hasPrefix("owlprune:") }
            #expect(stopped.status == Int32(128 + Self.numbers[c.signal]!), "\(c): status \(stopped.status)\n\(stopped.stderr)")
            // Stopped in the statistics pass, no block is pruned yet: nothing is kept, and the line says so.
            let kept = !c.point.hasPrefix("statistics")
            let hint = kept ? "--resume to continue" : "nothing had finished, nothing is kept"
            #expect(lines.count == 1 && lines[0].contains("stopped by SIG\(c.signal)") && lines[0].contains(hint),
                    "\(c): \(stopped.stderr)")
            #expect(!stopped.stderr.contains("Abort("), "\(c): MPICH's abort banner after the one line: \(stopped.stderr)")
            let left = try FileManager.default.contentsOfDirectory(atPath: parent.path)
            #expect(left == (kept ? ["out.partial"] : []), "\(c): left \(left)")

            let resumed = try MPIRun.run(command + ["--resume"], ranks: c.ranks, timeout: 90)
            #expect(resumed.status == 0 && resumed.stderr.contains(kept ? "finished block(s) in" : "no journal"), "\(c): \(resumed.stderr)")
            let got = try? Data(contentsOf: out.appendingPathComponent("model.safetensors"))
            #expect(got == expected, "\(c): the resumed output differs from an uninterrupted run")
        }
    }

    /// In a computation with no safe point (the pause without checks), a second signal ends the
    /// process at once, and without one the grace period does; both say so in one line, remove
    /// the lock file, and the next run on the same --out removes the staging left behind.
    @Test func aSecondSignalOrTheGracePeriodEndsAtOnce() throws {
        let scratch = try scratchDirectory("signals-twice")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let (model, text) = try BadInputFixtures.tiny(in: scratch, blocks: 4)
        for twice in [true, false] {
            let parent = scratch.appendingPathComponent(twice ? "twice" : "grace")
            try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
            let out = parent.appendingPathComponent("out")
            let command = BadInputFixtures.prune(model, text, out: out, ["--nsamples", "4"])
            let run = try Self.interrupt(command, ranks: nil, signal: "TERM", point: "prune: block 2", oneRank: false,
                                         twice: twice, checks: false)
            let expected = twice ? "owlprune: SIGTERM again: stopped at once" : "owlprune: SIGTERM: no safe point reached in time"
            #expect(run.status == 143 && run.stderr.contains(expected), "\(twice): \(run.stderr)")
            let left = try FileManager.default.contentsOfDirectory(atPath: parent.path)
            #expect(!left.contains(".out.lock"), "\(twice): the lock file was left: \(left)")
            let again = try MPIRun.run(command + ["--resume"], ranks: nil, timeout: 60)
            let after = try FileManager.default.contentsOfDirectory(atPath: parent.path)
            #expect(again.status == 0 && after == ["out"], "\(twice): \(again.stderr) left \(after)")
        }
    }

    /// One signal delivered twice within microseconds (Ctrl-C reaching mpiexec and its ranks'
    /// group, `timeout` signalling its child and then the group) is one event: the run still
    /// stops cleanly at its next safe point and resumes. Control: the same two signals half a
    /// second apart end it at once (`aSecondSignalOrTheGracePeriodEndsAtOnce`).
    @Test func anEchoedSignalStillStopsCleanly() throws {
        let scratch = try scratchDirectory("signals-echo")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let (model, text) = try BadInputFixtures.tiny(in: scratch, blocks: 4)
        let out = scratch.appendingPathComponent("out")
        let command = BadInputFixtures.prune(model, text, out: out, ["--nsamples", "4"])
        let run = try Self.interrupt(command, ranks: nil, signal: "TERM", point: "prune: block 2", oneRank: false, echo: true)
        #expect(run.status == 143 && run.stderr.contains("stopped by SIGTERM") && run.stderr.contains("--resume to continue")
                && !run.stderr.contains("again"), "\(run.stderr)")
        let resumed = try MPIRun.run(command + ["--resume"], ranks: nil, timeout: 60)
        #expect(resumed.status == 0 && resumed.stderr.contains("finished block(s) in"), "\(resumed.stderr)")
    }

    /// Runs `arguments` (under mpiexec with `ranks`, or plain), waits until a rank prints that it
    /// paused at `point`, then sends `signal` to mpiexec / the plain process, or with `oneRank` to
    /// the paused rank alone. Returns the command's status and stderr.
    static func interrupt(_ arguments: [String], ranks: Int?, signal: String, point: String, oneRank: Bool,
                          twice: Bool = false, echo: Bool = false, checks: Bool = true) throws -> (status: Int32, stderr: String) {
        let scratch = try scratchDirectory("signal-driver")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let log = scratch.appendingPathComponent("stderr")
        let launch = (ranks.map { ["/usr/bin/mpiexec", "-n", String($0)] } ?? []) + [MPIRun.binary.path] + arguments
        let quoted = launch.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        // `set -m`: without job control a background job ignores SIGINT, as in any script; an
        // interactive user's mpiexec does not.
        let script = """
            set -m
            export OPENBLAS_NUM_THREADS=1 OWLPRUNE_FAULT_PAUSE_AT='\(point)' OWLPRUNE_FAULT_PAUSE_CHECKS=\(checks ? 1 : 0)
            \(quoted) >/dev/null 2>'\(log.path)' </dev/null &
            job=$!
            target=$job
            for i in $(seq 1 600); do
              line=$(grep -m1 'owlprune-test: paused at' '\(log.path)' 2>/dev/null) && break
              sleep 0.05
            done
            [ -n "$line" ] || { kill -KILL $job; wait $job; echo "never paused" >&2; exit 99; }
            \(oneRank ? "target=$(printf '%s' \"$line\" | sed 's/.*pid \\([0-9]*\\)).*/\\1/')" : "")
            kill -\(signal) $target
            \(twice ? "sleep 0.5; kill -\(signal) $target" : "")
            \(echo ? "kill -\(signal) $target" : "")
            wait $job
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        // The test runner's thread may block signals, and its children inherit the mask (mpiexec
        // would never see the TERM): start the shell with an empty mask and default dispositions,
        // as a login shell has them.
        let clean = "import os, signal, sys\n"
            + "signal.pthread_sigmask(signal.SIG_SETMASK, set())\n"
            + "for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE): signal.signal(s, signal.SIG_DFL)\n"
            + "os.execv('/bin/bash', ['bash', '-c', sys.argv[1]])\n"
        process.arguments = ["-k", "5", "120", "/usr/bin/env", "python3", "-c", clean, script]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        let err = Pipe()
        process.standardError = err
        try process.run()
        let driver = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let stderr = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        return (process.terminationStatus, stderr + String(decoding: driver, as: UTF8.self))
    }
}
