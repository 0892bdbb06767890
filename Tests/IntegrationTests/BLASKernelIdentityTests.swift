import Foundation
import TestSupport
import Testing

/// Issue 28: one OpenBLAS kernel set for every machine and rank. `OPENBLAS_CORETYPE=X` in a run's
/// environment stands for a machine on which OpenBLAS would pick the X kernels: with owlprune's
/// default pinning every such "machine" must write the same bytes (and report Haswell), while
/// with `OWLPRUNE_BLAS_CORETYPE=native` the kernels really change (the report names X) and so do
/// the bytes, which shows the comparison can fail. The core types are those every AVX2 CPU runs
/// (the binary needs AVX2); SkylakeX and later need AVX-512. A tiny synthetic model and 7
/// windows of 64 tokens keep each run to a second; SmolLM2 runs on 2 windows of 64.
#if arch(x86_64)
@Suite(.serialized) struct BLASKernelIdentityTests {
    struct SynthFailed: Error { let stderr: String }

    /// Kernel sets of four generations (AVX2+FMA ×2, AVX, SSE3), all runnable on an AVX2 CPU.
    static let machines = ["Zen", "Haswell", "Sandybridge", "Prescott"]

    static let model = Result(catching: { () throws -> URL in
        let dir = try scratchDirectory("blas-tiny")
        let tokenizer = try RepoPaths.require(RepoPaths.smolHF).path
        let run = try MPIRun.run(["synth", "--shape", "custom", "--hidden", "128", "--intermediate", "320", "--layers", "4",
                                  "--heads", "4", "--kv-heads", "2", "--dtype", "bf16", "--seed", "3", "--tokenizer", tokenizer,
                                  "--out", dir.appendingPathComponent("m").path], ranks: nil, timeout: 120)
        guard run.status == 0 else { throw SynthFailed(stderr: run.stderr) }
        return dir.appendingPathComponent("m")
    })

    static var calib: String { RepoPaths.wikitext.appendingPathComponent("wiki.valid.tokens").path }

    /// `machine` sets `OPENBLAS_CORETYPE` (the kernels OpenBLAS would choose there); `native`
    /// turns owlprune's pinning off.
    func prune(model: URL, _ method: [String], machine: String?, native: Bool, out: URL, windows: [String],
               ranks: Int? = nil) throws -> MPIRun.Outcome {
        var env: [String: String] = [:]
        if let machine { env["OPENBLAS_CORETYPE"] = machine }
        if native { env["OWLPRUNE_BLAS_CORETYPE"] = "native" }
        return try MPIRun.run(["prune", "--model", model.path, "--out", out.path, "--sparsity", "0.7", "--calib", Self.calib]
                              + windows + method, ranks: ranks, timeout: 600, environment: env)
    }

    static func report(_ out: URL) throws -> [String: Any] {
        let data = try Data(contentsOf: out.appendingPathComponent("owlprune-report.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func coreType(_ out: URL) throws -> String? {
        (try report(out)["blas"] as? [String: Any])?["core_type"] as? String
    }

    /// The full-precision `nll_sum` of `eval --json` on `model` under `env`'s kernels: the forward
    /// pass's sgemm bits show in it even where a mask does not change.
    func nllSum(_ model: URL, environment: [String: String]) throws -> Double? {
        let run = try MPIRun.run(["eval", "--model", model.path, "--data", RepoPaths.wikitext.appendingPathComponent("wiki.test.raw").path,
                                  "--seqlen", "64", "--max-windows", "2", "--json"], ranks: nil, timeout: 300, environment: environment)
        #expect(run.status == 0, "eval: \(run.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        return json?["nll_sum"] as? Double
    }

    /// Prunes with `method` as on every machine in `pinned` with the default pinning: tensors,
    /// plan and the pruned model's evaluation must equal the first machine's bit for bit, and
    /// the reports must name Haswell. The control prunes as on every machine in `native` with
    /// OpenBLAS's own kernels (reports must name them): the evaluations must differ from the
    /// pinned one somewhere, and, where `tensorsDiffer`, the tensors too.
    func checkMachines(model: URL, _ method: [String], windows: [String], pinned machines: [String], native: [String],
                       tensorsDiffer: Bool, label: String) throws {
        let scratch = try scratchDirectory("blas-\(label.replacingOccurrences(of: " ", with: ""))")
        defer { try? FileManager.default.removeItem(at: scratch) }
        var reference: (out: URL, nll: Double?)?
        for machine in machines {
            let what = "\(label) on a \(machine) machine"
            let p = scratch.appendingPathComponent("pinned-\(machine)")
            let run = try prune(model: model, method, machine: machine, native: false, out: p, windows: windows)
            #expect(run.status == 0, "\(what), pinned: \(run.stderr)")
            #expect(try Self.coreType(p) == "Haswell", "\(what): the default did not pin Haswell")
            let nll = try nllSum(p, environment: ["OPENBLAS_CORETYPE": machine])
            if let first = reference {
                #expect(try differingTensors(first.out, p).isEmpty, "\(what): pinned tensors differ from \(machines[0])'s")
                #expect(try Data(contentsOf: first.out.appendingPathComponent("owlprune-plan.json"))
                        == Data(contentsOf: p.appendingPathComponent("owlprune-plan.json")), "\(what): pinned plan differs")
                #expect(nll != nil && nll == first.nll, "\(what): pinned evaluation differs")
            } else {
                reference = (p, nll)
            }
        }
        let pinnedOut = try #require(reference)
        var tensorDiffs: [String] = [], evalDiffs: [String] = []
        for machine in native {
            let what = "\(label) with the \(machine) machine's own kernels"
            let n = scratch.appendingPathComponent("native-\(machine)")
            let env = ["OPENBLAS_CORETYPE": machine, "OWLPRUNE_BLAS_CORETYPE": "native"]
            let control = try prune(model: model, method, machine: machine, native: true, out: n, windows: windows)
            #expect(control.status == 0, "\(what): \(control.stderr)")
            #expect(try Self.coreType(n) == machine, "\(what): the report does not name \(machine)")
            if try !differingTensors(pinnedOut.out, n).isEmpty { tensorDiffs.append(machine) }
            if try nllSum(n, environment: env) != pinnedOut.nll { evalDiffs.append(machine) }
        }
        // The control: other kernels change the bits, so the comparisons above can fail.
        #expect(!evalDiffs.isEmpty, "\(label): evaluations with \(native)'s own kernels equal the pinned one")
        if tensorsDiffer {
            #expect(!tensorDiffs.isEmpty, "\(label): tensors with \(native)'s own kernels equal the pinned ones")
        }
        print("\(label): own kernels change the tensors on \(tensorDiffs), the evaluation on \(evalDiffs)")
    }

    /// Wanda's and DSnoT's masks on this small model are the same with every kernel set (measured
    /// 2026-12-06: only SparseGPT's Hessian solve turns the kernels' rounding into other tensors),
    /// so for them the control is the evaluation of the pruned model.
    @Test(arguments: [(["--method", "wanda", "--allocation", "owl"], false), (["--method", "sparsegpt"], true),
                      (["--method", "wanda", "--dsnot"], false)])
    func tinyModelIsByteIdenticalOnEveryMachine(method: [String], tensorsDiffer: Bool) throws {
        try checkMachines(model: try Self.model.get(), method, windows: ["--nsamples", "7", "--seqlen", "64"],
                          pinned: Self.machines, native: ["Haswell", "Sandybridge", "Prescott"], tensorsDiffer: tensorsDiffer,
                          label: method.joined(separator: " "))
    }

    /// The real model, Wanda + OWL on 2 windows of 64 tokens, as on a Zen and a Sandybridge
    /// machine; the control (Sandybridge's own kernels) changed 175 of 272 tensors (2026-12-06).
    @Test func smolLM2IsByteIdenticalOnEveryMachine() throws {
        let model = try RepoPaths.require(RepoPaths.smolHF)
        try checkMachines(model: model, ["--method", "wanda", "--allocation", "owl"], windows: ["--nsamples", "2", "--seqlen", "64"],
                          pinned: ["Zen", "Sandybridge"], native: ["Sandybridge"], tensorsDiffer: true, label: "smollm2")
    }

    /// A wrapper that gives rank 1 a different kernel set, as a job spread over two node types.
    static func mixedLauncher(in dir: URL, rank1: String) throws -> URL {
        let script = dir.appendingPathComponent("mixed-\(rank1)")
        try """
        #!/bin/sh
        if [ "$PMI_RANK" = 1 ]; then export OWLPRUNE_BLAS_CORETYPE=\(rank1); fi
        exec '\(MPIRun.binary.path)' "$@"
        """.write(to: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        return script
    }

    @Test func ranksWithDifferentKernelsAreRefused() throws {
        let scratch = try scratchDirectory("blas-mixed")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let model = try Self.model.get()
        let args = ["prune", "--model", model.path, "--sparsity", "0.5", "--calib", Self.calib, "--nsamples", "4", "--seqlen", "32"]
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, 255)  // what MPI_Get_processor_name reports
        let host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)

        let refusedOut = scratch.appendingPathComponent("refused")
        let mixed = try Self.mixedLauncher(in: scratch, rank1: "Sandybridge")
        let refused = try MPIRun.run(args + ["--out", refusedOut.path], ranks: 2, timeout: 120, binary: mixed)
        #expect(refused.status != 0 && !refused.timedOut)
        let lines = refused.stderr.split(separator: "\n").filter { $0.contains("owlprune:") }
        #expect(lines.count == 1, "one error line expected: \(refused.stderr)")
        #expect(refused.stderr.contains("ranks run different OpenBLAS kernels: Haswell on \(host)"), "\(refused.stderr)")
        #expect(refused.stderr.contains("Sandybridge on \(host)") && refused.stderr.contains("(rank 1)"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: refusedOut.path), "a refused job wrote output")

        // With the override the job runs, warns, and its report records each rank's kernels.
        let allowedOut = scratch.appendingPathComponent("allowed")
        let allowed = try MPIRun.run(args + ["--out", allowedOut.path], ranks: 2, timeout: 120,
                                     environment: ["OWLPRUNE_ALLOW_MIXED_BLAS": "1"], binary: mixed)
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(allowed.stderr.contains("warning: ranks run different OpenBLAS kernels"), "\(allowed.stderr)")
        let ranks = try #require(try Self.report(allowedOut)["per_rank"] as? [[String: Any]])
        #expect(ranks.map { $0["blas_core_type"] as? String } == ["Haswell", "Sandybridge"])

        // Control: the same wrapper giving rank 1 the same kernels runs without a word about them.
        let sameOut = scratch.appendingPathComponent("same")
        let same = try MPIRun.run(args + ["--out", sameOut.path], ranks: 2, timeout: 120,
                                  binary: try Self.mixedLauncher(in: scratch, rank1: "Haswell"))
        #expect(same.status == 0, "\(same.stderr)")
        #expect(!same.stderr.contains("OpenBLAS kernels"), "\(same.stderr)")
    }

    @Test func versionAndBadChoicesNameTheKernels() throws {
        let pinned = try MPIRun.run(["--version"], ranks: nil, timeout: 30, environment: ["OPENBLAS_CORETYPE": "Prescott"])
        #expect(pinned.status == 0)
        #expect(pinned.stdout.contains("BLAS: OpenBLAS 0.3") && pinned.stdout.contains(", Haswell kernels (pinned)"), "\(pinned.stdout)")
        let chosen = try MPIRun.run(["--version"], ranks: nil, timeout: 30,
                                    environment: ["OWLPRUNE_BLAS_CORETYPE": "native", "OPENBLAS_CORETYPE": "Prescott"])
        #expect(chosen.stdout.contains(", Prescott kernels (pinned)"), "\(chosen.stdout)")

        let bad = try MPIRun.run(["--version"], ranks: nil, timeout: 30, environment: ["OWLPRUNE_BLAS_CORETYPE": "Has well"])
        #expect(bad.status != 0 && bad.stdout.isEmpty)
        #expect(bad.stderr == "owlprune: rank 0: OWLPRUNE_BLAS_CORETYPE=Has well: not an OpenBLAS core type (letters, digits and _, e.g. Haswell), nor native\n")
        // A kernel set the CPU cannot run is refused before it can die of SIGILL.
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        if !cpuinfo.contains(" avx512f") {
            let trap = try MPIRun.run(["--version"], ranks: nil, timeout: 30, environment: ["OWLPRUNE_BLAS_CORETYPE": "SkylakeX"])
            #expect(trap.status != 0 && trap.stderr.hasPrefix("owlprune: rank 0: this CPU has no AVX-512F, which OpenBLAS's SkylakeX kernels need"),
                    "\(trap.stderr)")
            // The same under `native` with a user's OPENBLAS_CORETYPE (unchecked it exits 132, SIGILL).
            let own = try MPIRun.run(["--version"], ranks: nil, timeout: 30,
                                     environment: ["OWLPRUNE_BLAS_CORETYPE": "native", "OPENBLAS_CORETYPE": "SkylakeX"])
            #expect(own.status == 1 && own.stderr.hasPrefix("owlprune: rank 0: this CPU has no AVX-512F, which OpenBLAS's SkylakeX kernels need (OPENBLAS_CORETYPE=SkylakeX); unset OPENBLAS_CORETYPE"),
                    "\(own.stderr)")
        }
    }
}
#endif
