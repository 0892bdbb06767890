import ArgumentParser
import Foundation

extension OwlPrune.Bench {
    /// Scaling of a prune run over ranks: launches this binary under `mpiexec -n R` for each rank
    /// count and propagation mode, and reads the per-rank phase times from the reports.
    /// Efficiency = T(1) / (R · T(R)); idle fraction = Σ idle / Σ (busy + idle) over the ranks.
    struct ClusterScaling: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "cluster",
                                                        abstract: "Prune at R = 1, 2 (,4) ranks in both modes; print scaling.")

        @Option(help: "Checkpoint directory.") var model: String
        @Option(help: "Calibration text.") var calib: String
        @Option(help: "Rank counts, comma separated.") var ranks: String = "1,2"
        @Option(help: "Calibration windows.") var nsamples: Int = 16
        @Option(help: "Window length.") var seqlen: Int = 512
        @Option(help: "Method.") var method: String = "wanda"
        @Option(help: "Allocation.") var allocation: String = "owl"

        func run() throws {
            let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("owlprune-scaling-\(getpid())")
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: scratch) }
            let counts = ranks.split(separator: ",").compactMap { Int($0) }
            for mode in ["sequential", "dense"] {
                var baseline: Double? = nil
                printResult("\(mode) propagation, \(method) + \(allocation), \(nsamples)×\(seqlen):")
                for r in counts {
                    let out = scratch.appendingPathComponent("\(mode)-\(r)")
                    let start = Date()
                    let status = try launch(exe, ranks: r, arguments: [
                        "prune", "--model", model, "--out", out.path, "--force", "--calib", calib,
                        "--nsamples", String(nsamples), "--seqlen", String(seqlen), "--method", method,
                        "--allocation", allocation, "--sparsity", "0.7", "--propagation", mode])
                    let wall = Date().timeIntervalSince(start)
                    guard status == 0 else { throw ValidationError("bench cluster: mpiexec -n \(r) exited with \(status)") }
                    let report = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("owlprune-report.json"))) as! [String: Any]
                    let perRank = report["per_rank"] as! [[String: Any]]
                    let busy = perRank.reduce(0.0) { $0 + ($1["busy_seconds"] as! Double) }
                    let idle = perRank.reduce(0.0) { $0 + ($1["idle_seconds"] as! Double) }
                    let phases = ["load", "statistics", "plan", "prune", "write"].map { p in
                        (p, perRank.map { (($0["phase_seconds"] as! [String: Double])[p] ?? 0) }.max() ?? 0)
                    }
                    let rss = perRank.map { ($0["peak_rss_bytes"] as! Int) }.max() ?? 0
                    if baseline == nil && r == 1 { baseline = wall }
                    let efficiency = baseline.map { String(format: "%.2f", $0 / (Double(r) * wall)) } ?? "-"
                    printResult(String(format: "  R=%d: wall %.1f s | %@ | pipeline idle %.0f%% | max peak RSS %.0f MB | efficiency %@",
                                       r, wall, phases.map { String(format: "%@ %.1f", $0.0, $0.1) }.joined(separator: ", "),
                                       busy + idle > 0 ? 100 * idle / (busy + idle) : 0, Double(rss) / 1e6, efficiency))
                }
            }
        }

        private func launch(_ exe: String, ranks: Int, arguments: [String]) throws -> Int32 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
            p.arguments = ["3600", "/usr/bin/mpiexec", "-n", String(ranks), exe] + arguments
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            return p.terminationStatus
        }
    }
}
