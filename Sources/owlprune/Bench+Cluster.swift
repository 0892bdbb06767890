import OwlPruneKit
import ArgumentParser
import Checkpoint
import Cluster
import Distribution
import Foundation
import Model
import Pruning

extension OwlPrune.Bench {
    /// Scaling of a sequential prune over ranks, for both `--split` values, every rank with one
    /// thread (each rank stands for a one-core node). Launches this binary under `mpiexec -n R`,
    /// times each run and reads per-rank busy / communication / idle seconds and bytes from the
    /// reports. In the same run it measures the hardware ceiling — two concurrent single-thread
    /// `bench forward` processes against one — so efficiency is stated against what the cores
    /// can give, and fits `ScalingModel` on the one-rank windows run to predict R = 2 and 4 here
    /// (printed beside the measured times) and 8…256 ranks for a given shape and link.
    struct ClusterScaling: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "cluster",
                                                        abstract: "Prune at R = 1, 2, 4 ranks in both splits; ceiling, scaling, projection.")

        @Option(help: "Checkpoint directory.") var model: String
        @Option(help: "Calibration text.") var calib: String
        @Option(help: "Rank counts, comma separated.") var ranks: String = "1,2,4"
        @Option(help: "Splits, comma separated.") var splits: String = "windows,blocks"
        @Option(help: "Calibration windows.") var nsamples: Int = 16
        @Option(help: "Window length.") var seqlen: Int = 256
        @Option(help: "Method.") var method: MethodName = .wanda
        @Option(help: "Allocation.") var allocation: AllocationName = .owl
        @Option(help: "Propagation.") var propagation: Propagation = .sequential
        @Option(help: "Shape of the projection (a synth shape).") var shape: OwlPrune.Synth.ShapeName = .llama_7b
        @Option(name: .customLong("project-nsamples"), help: "Windows of the projection.") var projectNsamples: Int = 128
        @Option(name: .customLong("project-seqlen"), help: "Window length of the projection.") var projectSeqlen: Int = 2048
        @Option(name: .customLong("link-gbps"), help: "Link bandwidth of the projection, Gb/s.") var linkGbps: Double = 10
        @Option(name: .customLong("link-latency-us"), help: "Per-message latency of the projection, µs.") var linkLatencyUs: Double = 20
        @Option(help: "Runs of each rank count, interleaved (R = 1, 2, …, then again); each is reported by its fastest run, the median beside it.")
        var repeats: Int = 1
        @Flag(help: "Print one JSON object on stdout (the lines go to stderr).") var json = false

        func validate() throws {

            guard !ParseOnly.active else { return }
            guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1 (got \(repeats))") }
            _ = try rankCounts()
            _ = try splitList()
            guard method.pruning != nil else { throw ValidationError("--method \(method.rawValue): bench cluster times mask methods only") }
            guard shape.dimensions != nil else { throw ValidationError("--shape custom: the projection needs a published shape") }
        }

        /// `--ranks` as numbers, each at least 1.
        func rankCounts() throws -> [Int] {
            try SweepGrid.parseList(ranks, flag: "--ranks").map {
                guard let r = Int($0), r >= 1 else { throw ValidationError("--ranks \($0): each must be a rank count of at least 1") }
                return r
            }
        }

        /// `--splits` as `WorkSplit` values.
        func splitList() throws -> [WorkSplit] { try SweepGrid.parseChoices(splits, flag: "--splits") }

        /// A line of the human-readable report: stdout, or stderr under `--json`.
        private func say(_ line: String) { if json { progress(line) } else { printResult(line) } }

        struct Measured {
            var wall: Double
            var busy: [Double], comm: [Double], idle: [Double], solve: [Double], load: [Double]
            var bytes: Int
        }

        func run() throws {
            // Resolved once: a rebuild during the run deletes this binary, and `/proc/self/exe`
            // resolved later names "… (deleted)", which mpiexec's proxy would run as itself.
            let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("owlprune-scaling-\(getpid())")
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: scratch) }
            let counts = try rankCounts()

            var object: [String: Any] = ["model": model, "calib": calib, "method": method.rawValue, "allocation": allocation.rawValue,
                                         "propagation": propagation.rawValue, "nsamples": nsamples, "seqlen": seqlen]
            func report(_ c: (single: Double, pair: (Double, Double), speedup: Double), _ when: String) {
                object["ceiling_\(when)"] = ["single_tokens_per_second": c.single, "pair_tokens_per_second": [c.pair.0, c.pair.1],
                                             "two_process_speedup": c.speedup]
                say(String(format: "hardware ceiling (%@): one bench forward %.0f tokens/s; two at once %.0f + %.0f → two-process speedup %.2f×",
                                   when, c.single, c.pair.0, c.pair.1, c.speedup))
            }
            let first = try measureCeiling(exe)
            report(first, "start")

            var results: [String: [Int: Measured]] = [:]
            var allWalls: [String: [Int: [Double]]] = [:]
            for split in try splitList().map(\.rawValue) {
                say("\(propagation.rawValue) propagation, --split \(split), \(method.rawValue) + \(allocation.rawValue), \(nsamples)×\(seqlen), --threads 1:")
                var baseline: Double? = nil
                // Interleaved rounds, so a slow spell of a shared machine hits every rank count
                // alike; the fastest of a rank count's runs is the one least disturbed by others.
                var walls: [Int: [Double]] = [:]
                for _ in 0..<repeats {
                    for r in counts {
                        let m = try prune(exe, ranks: r, split: split, out: scratch.appendingPathComponent("\(split)-\(r)"))
                        walls[r, default: []].append(m.wall)
                        if results[split]?[r].map({ m.wall < $0.wall }) ?? true { results[split, default: [:]][r] = m }
                    }
                }
                allWalls[split] = walls
                for r in counts {
                    let m = results[split]![r]!
                    if r == 1 { baseline = m.wall }
                    let speedup = baseline.map { $0 / m.wall }
                    object["runs"] = (object["runs"] as? [[String: Any]] ?? []) + [[
                        "split": split, "ranks": r, "wall_seconds": m.wall, "speedup": speedup ?? NSNull(),
                        "efficiency": speedup.map { $0 / Double(r) } ?? NSNull(), "busy_seconds": m.busy,
                        "comm_seconds": m.comm, "idle_seconds": m.idle, "solve_seconds": m.solve, "bytes_sent": m.bytes,
                        "all_wall_seconds": walls[r]!,
                    ]]
                    let cells = speedup.map { s in String(format: "speedup %.2f, efficiency %.2f", s, s / Double(r)) } ?? "-"
                    func list(_ v: [Double]) -> String { v.map { String(format: "%.1f", $0) }.joined(separator: "/") }
                    let best = repeats == 1 ? "" : String(format: " (fastest of %@; median %.1f)", list(walls[r]!), Self.median(walls[r]!))
                    say(String(format: "  R=%d: wall %.1f s%@ | %@ | busy %@ s, comm %@ s, idle %@ s | moved %.1f MB",
                                       r, m.wall, best, cells, list(m.busy), list(m.comm), list(m.idle), Double(m.bytes) / 1e6))
                }
            }
            let last = try measureCeiling(exe)
            report(last, "end")
            let ceiling = max(first.speedup, last.speedup)
            for split in results.keys.sorted().reversed() {
                guard let one = results[split]?[1] else { continue }
                for (r, m) in results[split]!.sorted(by: { $0.key < $1.key }) where r > 1 {
                    let s = one.wall / m.wall, bound = min(Double(r), ceiling)
                    // Over repeats the medians are stated beside the fastest runs: a lockstep job on a
                    // shared machine feels every disturbance on any core, so its spread is wider.
                    let walls = allWalls[split]!, medians = Self.median(walls[1]!) / Self.median(walls[r]!)
                    object["against_ceiling"] = (object["against_ceiling"] as? [[String: Any]] ?? []) + [[
                        "split": split, "ranks": r, "speedup": s, "ceiling": ceiling, "fraction": s / bound,
                        "median_speedup": medians, "median_fraction": medians / bound,
                    ]]
                    let medianText = repeats == 1 ? "" : String(format: "; medians: %.2f, %.0f%%", medians, 100 * medians / bound)
                    say(String(format: "--split %@, R=%d: speedup %.2f against the two-process ceiling %.2f: %.0f%% of it%@",
                                       split, r, s, ceiling, 100 * s / bound, medianText))
                }
            }
            if let one = results["windows"]?[1] {
                object["model_fit"] = try project(exe, one, measured: results["windows"] ?? [:], ceiling: ceiling)
            }
            if json { try JSONOutput.print(object) }
        }

        static func median(_ v: [Double]) -> Double {
            let s = v.sorted()
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }

        // MARK: - Ceiling

        /// Tokens/s of one `bench forward` alone (before and after) and of two started together.
        /// The machine is shared, so the ceiling is measured at the start and again at the end of
        /// the benchmark and both are printed; the larger is used (load from elsewhere can only
        /// lower a measured ceiling).
        private func measureCeiling(_ exe: String) throws -> (single: Double, pair: (Double, Double), speedup: Double) {
            let args = ["bench", "forward", "--model", model, "--seqlen", String(seqlen), "--windows", "4"]
            let before = try Self.tokensPerSecond(try Self.capture(exe, args))
            let a = try Self.start(exe, args), b = try Self.start(exe, args)
            let ta = try Self.tokensPerSecond(Self.finish(a)), tb = try Self.tokensPerSecond(Self.finish(b))
            let after = try Self.tokensPerSecond(try Self.capture(exe, args))
            let single = (before + after) / 2
            return (single, (ta, tb), (ta + tb) / single)
        }

        private static func start(_ exe: String, _ args: [String]) throws -> (Process, Pipe) {
            let p = Process(), pipe = Pipe()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
            p.arguments = ["600", exe] + args  // every launch has a hard timeout
            var env = ProcessInfo.processInfo.environment
            env["OPENBLAS_NUM_THREADS"] = "1"
            p.environment = env
            p.standardOutput = pipe
            p.standardError = FileHandle.nullDevice
            try p.run()
            return (p, pipe)
        }

        private static func finish(_ run: (Process, Pipe)) -> String {
            let data = run.1.fileHandleForReading.readDataToEndOfFile()
            run.0.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }

        private static func capture(_ exe: String, _ args: [String]) throws -> String { finish(try start(exe, args)) }

        private static func tokensPerSecond(_ text: String) throws -> Double {
            guard let r = text.range(of: #"L=\d+: ([0-9.]+) tokens/s"#, options: .regularExpression) else {
                throw ValidationError("bench cluster: no tokens/s in bench forward output: \(text)")
            }
            let s = text[r].split(separator: " ")[1]
            return Double(s)!
        }

        // MARK: - Runs

        private func prune(_ exe: String, ranks: Int, split: String, out: URL) throws -> Measured {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
            p.arguments = ["3600", "/usr/bin/mpiexec", "-n", String(ranks), exe, "prune", "--model", model, "--out", out.path,
                           "--force", "--calib", calib, "--nsamples", String(nsamples), "--seqlen", String(seqlen),
                           "--method", method.rawValue, "--allocation", allocation.rawValue, "--sparsity", "0.7", "--propagation", propagation.rawValue,
                           "--split", split, "--threads", "1"]
            var env = ProcessInfo.processInfo.environment
            env["OPENBLAS_NUM_THREADS"] = "1"
            p.environment = env
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            let start = Date()
            try p.run()
            p.waitUntilExit()
            let wall = Date().timeIntervalSince(start)
            guard p.terminationStatus == 0 else {
                throw ValidationError("bench cluster: mpiexec -n \(ranks) --split \(split) exited with \(p.terminationStatus)")
            }
            let data = try Data(contentsOf: out.appendingPathComponent(PruneOutput.reportFileName))
            let ranks = try PruneReport.decoder().decode(PruneReport.self, from: data).perRank
            return Measured(wall: wall, busy: ranks.map(\.busySeconds), comm: ranks.map(\.commSeconds), idle: ranks.map(\.idleSeconds),
                            solve: ranks.map(\.solveSeconds), load: ranks.map(\.phaseSeconds.load),
                            bytes: ranks.reduce(0) { $0 + $1.bytesSent })
        }

        // MARK: - Model

        private func job(shape blockShape: BlockShape, blocks: Int, windows: Int, length: Int, storedBytes: Int) -> ScalingModel.Job {
            let m = method.pruning ?? .wanda
            return ScalingModel.Job(shape: blockShape, blocks: blocks, windows: windows, length: length, method: m,
                                    kinds: requiredStatistics(method: m, options: PruningOptions()), owl: allocation == .owl,
                                    storedBytesPerWeight: storedBytes)
        }

        /// Prints the fitted model, its predictions here and the projection; returns them for `--json`.
        private func project(_ exe: String, _ one: Measured, measured: [Int: Measured], ceiling: Double) throws -> [String: Any] {
            var object: [String: Any] = [:]
            let checkpoint = try CheckpointDirectory(url: URL(fileURLWithPath: model))
            let architecture = try Architecture(config: checkpoint.config)
            let stored = try checkpoint.info(BlockLinear.q.weightName(block: 0)).byteCount
                / (architecture.shape.weightShape(.q).rows * architecture.shape.weightShape(.q).cols)
            let here = job(shape: architecture.shape, blocks: architecture.blockCount, windows: nsamples, length: seqlen,
                           storedBytes: stored)
            let solve = one.solve[0], load = one.load[0]
            let rates = ScalingModel.fit(job: here, computeSeconds: one.busy[0] - solve - load, solveSeconds: solve,
                                         loadSeconds: load, otherSeconds: one.wall - one.busy[0])
            // The on-machine link, measured by `bench link` under mpiexec -n 2.
            let linkText = Self.finish(try Self.start("/usr/bin/mpiexec", ["-n", "2", exe, "bench", "link"]))
            guard let r = linkText.range(of: #"([0-9.]+) GB/s"#, options: .regularExpression),
                  let gbps = Double(linkText[r].split(separator: " ")[0]) else {
                throw ValidationError("bench cluster: bench link printed no rate: \(linkText)")
            }
            let bandwidth = gbps * 1e9
            let local = ScalingModel(rates: rates, bandwidth: bandwidth, latency: 20e-6)
            say(String(format: "model (fitted on R=1 windows): %.1f GFLOP/s forward+terms, %.2f G solve units/s, load %.2f GB/s, other %.1f s; link here (bench link) %.2f GB/s",
                               rates.flopsPerSecond / 1e9, rates.solveUnitsPerSecond / 1e9, rates.loadBytesPerSecond / 1e9,
                               rates.otherSeconds, bandwidth / 1e9))
            object["rates"] = ["flops_per_second": rates.flopsPerSecond, "solve_units_per_second": rates.solveUnitsPerSecond,
                               "load_bytes_per_second": rates.loadBytesPerSecond, "other_seconds": rates.otherSeconds,
                               "link_bytes_per_second": bandwidth]
            var predictions: [[String: Any]] = []
            let cores = Double(ProcessInfo.processInfo.activeProcessorCount)
            for r in measured.keys.sorted() where r > 1 {
                // Ranks beyond the cores share them: at most the measured two-process ceiling runs at once.
                let concurrency = Double(r) <= 1 ? 1 : min(Double(r), cores >= 2 ? ceiling * cores / 2 : 1)
                let p = local.predict(here, ranks: r, concurrency: concurrency)
                let m = measured[r]!
                predictions.append(["ranks": r, "predicted_seconds": p.seconds, "measured_seconds": m.wall,
                                    "error": (p.seconds - m.wall) / m.wall])
                say(String(format: "  R=%d here: predicted %.1f s (compute %.1f, solve %.1f, comm %.2f, load %.1f, other %.1f), measured %.1f s, error %+.0f%%",
                                   r, p.seconds, p.computeSeconds, p.solveSeconds, p.commSeconds, p.loadSeconds, p.otherSeconds,
                                   m.wall, 100 * (p.seconds - m.wall) / m.wall))
            }
            object["predictions_here"] = predictions
            guard let dims = shape.dimensions else { throw ValidationError("--shape custom: the projection needs a published shape") }
            let target = BlockShape(hiddenSize: dims.hidden, intermediateSize: dims.intermediate, heads: dims.heads,
                                    kvHeads: dims.kvHeads, headDim: dims.headDim ?? dims.hidden / dims.heads,
                                    rmsNormEpsilon: Float(dims.epsilon),
                                    queryKeyValueBias: dims.family.hasQueryKeyValueBias, queryKeyNorm: dims.family.hasQueryKeyNorm)
            let big = job(shape: target, blocks: dims.blocks, windows: projectNsamples, length: projectSeqlen, storedBytes: 2)
            let cluster = ScalingModel(rates: rates, bandwidth: linkGbps * 1e9 / 8, latency: linkLatencyUs * 1e-6)
            let base = cluster.predict(big, ranks: 1, concurrency: 1).seconds
            say(String(format: "projection: %@ (bf16), %d×%d, %@ + %@, one rank per node at the rates above, %.0f Gb/s links:",
                               shape.rawValue, projectNsamples, projectSeqlen, method.rawValue, allocation.rawValue, linkGbps))
            var projection: [[String: Any]] = []
            for r in [1, 8, 16, 64, 256] {
                let p = cluster.predict(big, ranks: r, concurrency: Double(r))
                let activations = Double((projectNsamples + r - 1) / r * projectSeqlen * target.hiddenSize * 4)
                projection.append(["ranks": r, "seconds": p.seconds, "efficiency": base / (Double(r) * p.seconds),
                                   "comm_fraction": p.commSeconds / p.seconds, "activation_bytes_per_rank": activations])
                say(String(format: "  R=%3d: %8.0f s, efficiency %.2f, comm %4.1f%% of wall, activations %.2f GB/rank",
                                   r, p.seconds, base / (Double(r) * p.seconds), 100 * p.commSeconds / p.seconds, activations / 1e9))
            }
            let shapeName: String = shape.rawValue
            object["projection"] = ["shape": shapeName, "nsamples": projectNsamples, "seqlen": projectSeqlen,
                                    "link_gbps": linkGbps, "runs": projection]
            return object
        }
    }
}
