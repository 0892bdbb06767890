import OwlPruneKit
import ArgumentParser
import Checkpoint
import Foundation
import Model
import Tensor

extension OwlPrune.Bench {
    /// Forward throughput of the decoder blocks against the BLAS ceiling for the same products.
    ///
    /// The ceiling is measured in the same process on the same shapes: one `x·Wᵀ` sgemm per
    /// linear of a block (L × in times in × out), timed back to back. The ratio says how much of
    /// what OpenBLAS can do on these matrices the whole block (norms, RoPE, attention, SwiGLU
    /// included) achieves. The machine may be shared, so `--repeats` alternates forward and
    /// ceiling (A B A B) and prints every pair and the median ratio; `--breakdown` then times
    /// every kernel of the block (docs/design.md "Forward speed"). All times are thread CPU
    /// seconds (`ThreadClock`), so time slices lost to other tenants of a shared machine count
    /// on neither side of the ratio.
    struct Forward: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Block forward tokens/s and GFLOP/s vs sgemm.")

        @Option(help: "Checkpoint directory.") var model: String
        @Option(help: "Window length.") var seqlen: Int = 512
        @Option(help: "Windows to time (after one warm-up window).") var windows: Int = 4
        @Option(help: "Blocks to run (default: all).") var blocks: Int?
        @Option(help: "Forward/ceiling pairs, timed alternately.") var repeats: Int = 1
        @Flag(help: "Also print seconds and share of the block per kernel.") var breakdown = false
        @Flag(help: "Print one JSON object on stdout (pair lines go to stderr).") var json = false

        func validate() throws {

            guard !ParseOnly.active else { return }
            guard seqlen > 0, windows > 0, repeats > 0 else { throw ValidationError("--seqlen, --windows and --repeats must be positive") }
            if let b = blocks, b <= 0 { throw ValidationError("--blocks \(b): must be positive") }
        }

        func run() throws {
            setBLASThreads(1)
            let checkpoint = try CheckpointDirectory(url: URL(fileURLWithPath: model))
            let architecture = try Architecture(config: checkpoint.config)
            let shape = architecture.shape
            let count = min(blocks ?? architecture.blockCount, architecture.blockCount)
            let loaded = try (0..<count).map { try DecoderBlock.load(index: $0, shape: shape, from: checkpoint) }
            let rope = architecture.ropeTable(positions: seqlen)
            var rng = SplitMix64(seed: 1)
            let input = Matrix(rows: seqlen, cols: shape.hiddenSize,
                               elements: (0..<(seqlen * shape.hiddenSize)).map { _ in rng.unitFloat() })
            func pass(_ profile: KernelProfile? = nil) -> Matrix {
                loaded.reduce(input) { h, b in b.forward(h, rope: rope, profile: profile) }
            }
            let flops = loaded.reduce(0.0) { $0 + $1.flops(tokens: seqlen) }

            // The sgemm ceiling: the same seven products per block, on the same weights.
            let ceiling = ProductCeiling(block: loaded[0], tokens: seqlen)
            _ = pass()
            ceiling.time(reps: 1)
            var pairs: [(forward: Double, gemm: Double)] = []
            var perProduct: [BlockLinear: Double] = [:]
            for r in 0..<repeats {
                let t0 = ThreadClock.nanoseconds()
                for _ in 0..<windows { _ = pass() }
                let forwardSeconds = ThreadClock.seconds(since: t0) / Double(windows)
                let (gemmSeconds, each) = ceiling.time(reps: max(2, count))
                for (l, s) in each { perProduct[l] = min(perProduct[l] ?? .infinity, s) }
                pairs.append((forwardSeconds, gemmSeconds))
                if repeats > 1 {
                    (json ? progress : printResult)(String(format: "pair %d: forward %.1f GFLOP/s, sgemm %.1f GFLOP/s, ratio %.3f", r + 1,
                                       flops / forwardSeconds / 1e9, ceiling.flops / gemmSeconds / 1e9,
                                       (flops / forwardSeconds) / (ceiling.flops / gemmSeconds)))
                }
            }
            let ratios = pairs.map { (flops / $0.forward) / (ceiling.flops / $0.gemm) }.sorted()
            let median = ratios[ratios.count / 2]
            let forwardSeconds = pairs.map(\.forward).sorted()[pairs.count / 2]
            let gemmSeconds = pairs.map(\.gemm).sorted()[pairs.count / 2]
            var object: [String: Any] = [
                "model": model, "blocks": count, "seqlen": seqlen, "windows": windows, "repeats": repeats,
                "tokens_per_second": Double(seqlen) / forwardSeconds, "forward_gflops": flops / forwardSeconds / 1e9,
                "sgemm_gflops": ceiling.flops / gemmSeconds / 1e9, "ratio": median,
            ]
            defer { if json { try? JSONOutput.print(object) } }
            if !json { printResult(String(format: """
                forward: %d blocks, L=%d: %.0f tokens/s, %.1f GFLOP/s (block FLOPs incl. attention)
                sgemm, same seven products: %.1f GFLOP/s
                ratio forward/sgemm: %.2f%@
                """, count, seqlen, Double(seqlen) / forwardSeconds, flops / forwardSeconds / 1e9,
                ceiling.flops / gemmSeconds / 1e9, median, repeats > 1 ? " (median of \(repeats) pairs)" : "")) }
            guard breakdown else { return }

            let profile = KernelProfile()
            for _ in 0..<windows { _ = pass(profile) }
            let perBlock = Double(windows * count)
            let blockSeconds = profile.total / perBlock
            let gemmRate = ceiling.flops / gemmSeconds
            var lines = [String(format: "breakdown per block (L=%d, mean of %d windows × %d blocks; block %.4f s):",
                                seqlen, windows, count, blockSeconds)]
            var kernels: [[String: Any]] = []
            for label in profile.labels {
                let s = profile.seconds(label) / perBlock
                kernels.append(["kernel": label, "seconds_per_block": s, "share": s / blockSeconds])
                var line = "  " + label.padding(toLength: 24, withPad: " ", startingAt: 0)
                    + String(format: " %9.5f s %6.1f%%", s, 100 * s / blockSeconds)
                if let linear = BlockLinear(rawValue: label) {
                    let f = 2 * Double(seqlen * shape.weightShape(linear).rows * shape.weightShape(linear).cols)
                    line += String(format: "  %6.1f GFLOP/s, %.2f of its own sgemm, %.2f of the block sgemm rate",
                                   f / s / 1e9, (perProduct[linear] ?? s) / s, f / s / gemmRate)
                } else if label.hasPrefix("attention") {
                    let f = Double(shape.heads * Attention.productPairs(tokens: seqlen, headDim: shape.headDim)) // both products
                    line += String(format: "  %6.1f GFLOP/s, %.2f of the block sgemm rate", f / s / 1e9, f / s / gemmRate)
                }
                lines.append(line)
            }
            object["breakdown"] = kernels
            if !json { printResult(lines.joined(separator: "\n")) }
        }
    }
}

/// The seven products of one block as lone sgemm calls: the ceiling `bench forward` compares with.
struct ProductCeiling {
    let block: DecoderBlock
    let x: Matrix, o: Matrix, z: Matrix
    let flops: Double

    init(block: DecoderBlock, tokens: Int) {
        let s = block.shape
        self.block = block
        var rng = SplitMix64(seed: 2)
        x = Matrix(rows: tokens, cols: s.hiddenSize, elements: (0..<(tokens * s.hiddenSize)).map { _ in rng.unitFloat() })
        o = Matrix(rows: tokens, cols: s.heads * s.headDim, repeating: 0.5)
        z = Matrix(rows: tokens, cols: s.intermediateSize, repeating: 0.5)
        flops = BlockLinear.allCases.reduce(0.0) { acc, l in
            acc + 2 * Double(tokens * s.weightShape(l).rows * s.weightShape(l).cols)
        }
    }

    /// Seconds per set of seven products (mean over `reps`), and the fastest time of each product.
    @discardableResult
    func time(reps: Int) -> (Double, [BlockLinear: Double]) {
        var best: [BlockLinear: Double] = [:]
        var total = 0.0
        for _ in 0..<reps {
            for linear in BlockLinear.allCases {
                let input = linear == .down ? z : (linear == .o ? o : x)
                let t = ThreadClock.nanoseconds()
                _ = input.linear(block.weight(linear))
                let s = ThreadClock.seconds(since: t)
                total += s
                best[linear] = min(best[linear] ?? .infinity, s)
            }
        }
        return (total / Double(reps), best)
    }
}
