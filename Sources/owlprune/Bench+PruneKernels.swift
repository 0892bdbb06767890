import OwlPruneKit
import Foundation
import MPIKit
import Model
import Pruning
import Tensor

/// The statistics and solver kernels of a prune against the sgemm ceiling of the same shapes
/// (`bench prune --kernels`, issue 11 item 3): Wanda's column norms, the SparseGPT Hessian term
/// and fold, SparseGPT's inverse-Hessian factor, and its blocked column loop with the lazy
/// updates. Each is timed on random data of one window (`tokens × width`), best of `repeats`.
struct PruneKernelBench {
    var widths: [Int]
    var tokens: Int
    var rows: Int
    var repeats: Int

    /// Best wall time of `repeats` runs of `body`.
    private func best(_ body: () throws -> Void) rethrows -> Double {
        var fastest = Double.infinity
        for _ in 0..<max(1, repeats) {
            let t0 = Communicator.wallTime
            try body()
            fastest = min(fastest, Communicator.wallTime - t0)
        }
        return fastest
    }

    private static func random(rows: Int, cols: Int, seed: UInt64) -> Matrix {
        var g = SplitMix64(seed: seed)
        let scale = 1.0 / Double(UInt64.max)
        return Matrix(rows: rows, cols: cols, elements: (0..<(rows * cols)).map { _ in Float(Double(g.next()) * scale * 2 - 1) })
    }

    /// Multiply-adds counted as 2 flops. The column loop: inside each block of `B` columns the
    /// rank-1 OBS updates touch `rows × (B − i)` entries for column `i`; the lazy update of the
    /// later columns is one `rows × B × (n − i2)` product (IST-DASLab/sparsegpt `fasterprune`).
    static func columnLoopFlops(rows: Int, cols: Int, blocksize: Int) -> Double {
        var flops = 0.0
        for i1 in stride(from: 0, to: cols, by: blocksize) {
            let i2 = min(i1 + blocksize, cols), b = i2 - i1
            flops += 2 * Double(rows) * Double(b * (b + 1) / 2)
            flops += 2 * Double(rows) * Double(b) * Double(cols - i2)
        }
        return flops
    }

    /// SparseGPT's solver for a whole model at the rates its kernels reach on this machine now, spread
    /// evenly over `threads`: per block one inverse-Hessian factor per input (q/k/v and gate/up share
    /// theirs) and one column loop per linear (linear in the rows, so timed once per width on
    /// `sampleRows` rows and scaled). Issue 29 counts the solver on top of the FLOP floor at these
    /// rates; a shorter solve would need faster kernels, not better scheduling.
    static func solverSeconds(shape: BlockShape, blocks: Int, threads: Int, blocksize: Int, sampleRows: Int = 256) throws -> Double {
        let linears = BlockLinear.allCases
        var perBlock = 0.0
        for input in LinearInput.allCases {
            let users = linears.filter { $0.input == input }
            let n = shape.weightShape(users[0]).cols
            var hessian = HessianStatistic(columns: n)
            hessian.fold(HessianStatistic.term(window: random(rows: max(n, 512), cols: n, seed: UInt64(n)), index: 0))
            let h = hessian.hessian
            let bench = PruneKernelBench(widths: [], tokens: 0, rows: 0, repeats: n > 4096 ? 1 : 2)
            let factorSeconds = try bench.best { _ = try inverseHessianFactor(hessian: h, percdamp: 0.01, layer: "bench") }
            let factor = try inverseHessianFactor(hessian: h, percdamp: 0.01, layer: "bench")
            let sample = random(rows: sampleRows, cols: n, seed: UInt64(n) + 1)
            let loopSeconds = try bench.best {
                _ = try SparseGPTSweep.sweep(weight: sample, factor: factor, sparsity: 0.5, pattern: .unstructured,
                                             blocksize: blocksize, layer: "bench") { SparseGPTSweep.threshold(ofAllScores: $0, sparsity: 0.5) }
            }
            perBlock += factorSeconds
            for linear in users { perBlock += loopSeconds * Double(shape.weightShape(linear).rows) / Double(sampleRows) }
        }
        return perBlock * Double(blocks) / Double(max(1, threads))
    }

    func run(json: Bool) throws -> [[String: Any]] {
        var out: [[String: Any]] = []
        for n in widths {
            let x = Self.random(rows: tokens, cols: n, seed: UInt64(n))
            var product = Matrix(rows: n, cols: n)
            let l = Double(tokens), nn = Double(n)
            let sgemm = best { Matrix.gemm(x, transposeA: true, x, transposeB: false, into: &product) }
            let sgemmFlops = 2 * nn * nn * l
            let norms = best { _ = WandaStatistic.term(window: x) }
            var hessian = HessianStatistic(columns: n)
            var term = Matrix(rows: 0, cols: 0)
            let hessianTerm = best { term = HessianStatistic.term(window: x, index: 0) }
            let fold = best { hessian.fold(term) }
            // ssyrk computes the upper triangle: n(n+1)/2 dot products of length L.
            let syrkFlops = nn * (nn + 1) * l
            let weight = Self.random(rows: rows, cols: n, seed: UInt64(n) + 1)
            let h = hessian.hessian
            let factor = try best { _ = try inverseHessianFactor(hessian: h, percdamp: 0.01, layer: "bench") }
            let whole = try best { _ = try sparseGPT(weight: weight, hessian: h, sparsity: 0.5, pattern: .unstructured, layer: "bench") }
            let loop = max(whole - factor, 1e-9)
            let loopFlops = Self.columnLoopFlops(rows: rows, cols: n, blocksize: 128)
            // A rows × n × n sgemm: the ceiling for the column loop's lazy updates.
            var lazy = Matrix(rows: rows, cols: n)
            let lazyCeiling = best { Matrix.gemm(weight, transposeA: false, h, transposeB: false, into: &lazy) }
            let lazyCeilingRate = 2 * Double(rows) * nn * nn / lazyCeiling / 1e9
            let sgemmRate = sgemmFlops / sgemm / 1e9
            let rates: [(String, Double, Double, Double)] = [
                ("sgemm XᵀX (ceiling)", sgemm, sgemmFlops, sgemmRate),
                ("Wanda norms", norms, 2 * l * nn, sgemmRate),
                ("Hessian term (ssyrk)", hessianTerm, syrkFlops, sgemmRate),
                ("Hessian fold", fold, 2 * nn * nn, sgemmRate),
                ("SparseGPT H⁻¹ factor (f64)", factor, 2 * nn * nn * nn, sgemmRate),
                ("SparseGPT column loop", loop, loopFlops, lazyCeilingRate),
            ]
            if json {
                for (name, seconds, flops, ceiling) in rates {
                    out.append(["kernel": name, "width": n, "tokens": tokens, "rows": rows, "seconds": seconds,
                                "gflops": flops / seconds / 1e9, "ceiling_gflops": ceiling])
                }
                continue
            }
            var lines = ["kernels at width \(n) (\(tokens) tokens, \(rows) weight rows, 1 BLAS thread; ratio against sgemm of the same shapes):"]
            for (name, seconds, flops, ceiling) in rates {
                let rate = flops / seconds / 1e9
                lines.append("  " + name.padding(toLength: 28, withPad: " ", startingAt: 0)
                             + String(format: " %9.3f ms  %7.2f GFLOP/s  %5.2f × sgemm (%.2f GFLOP/s)",
                                      seconds * 1e3, rate, rate / ceiling, ceiling))
            }
            printResult(lines.joined(separator: "\n"))
        }
        return out
    }
}
