import ArgumentParser
import Checkpoint
import Foundation
import Model
import Tensor

extension OwlPrune {
    /// `owlprune bench`: rates and ratios, never asserted in tests (speed claims come from here).
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure throughput (prints rates and ratios).",
            subcommands: [Forward.self, Prune.self, ClusterScaling.self, Link.self])
    }
}

extension OwlPrune.Bench {
    /// Forward throughput of the decoder blocks against the BLAS ceiling for the same products.
    ///
    /// The ceiling is measured in the same process on the same shapes: one `x·Wᵀ` sgemm per
    /// linear of a block (L × in times in × out), timed back to back. The ratio says how much of
    /// what OpenBLAS can do on these matrices the whole block (norms, RoPE, attention, SwiGLU
    /// included) achieves.
    struct Forward: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Block forward tokens/s and GFLOP/s vs sgemm.")

        @Option(help: "Checkpoint directory.") var model: String
        @Option(help: "Window length.") var seqlen: Int = 512
        @Option(help: "Windows to time (after one warm-up window).") var windows: Int = 4
        @Option(help: "Blocks to run (default: all).") var blocks: Int?
        @Flag(help: "Print one JSON object on stdout.") var json = false

        func run() throws {
            setBLASThreads(1)
            let checkpoint = try CheckpointDirectory(url: URL(fileURLWithPath: model))
            let architecture = try Architecture(config: checkpoint.config)
            let count = min(blocks ?? architecture.blockCount, architecture.blockCount)
            let loaded = try (0..<count).map { try DecoderBlock.load(index: $0, shape: architecture.shape, from: checkpoint) }
            let rope = architecture.ropeTable(positions: seqlen)
            var rng = SplitMix64(seed: 1)
            let input = Matrix(rows: seqlen, cols: architecture.shape.hiddenSize,
                               elements: (0..<(seqlen * architecture.shape.hiddenSize)).map { _ in rng.unitFloat() })
            func pass() -> Matrix { loaded.reduce(input) { h, b in b.forward(h, rope: rope) } }
            _ = pass()
            let t0 = Date()
            for _ in 0..<windows { _ = pass() }
            let forwardSeconds = Date().timeIntervalSince(t0) / Double(windows)
            let flops = loaded.reduce(0.0) { $0 + $1.flops(tokens: seqlen) }

            // The sgemm ceiling: the same seven products per block, on the same weights.
            let block = loaded[0]
            let x = Matrix(rows: seqlen, cols: architecture.shape.hiddenSize, elements: Array(input.elements))
            let z = Matrix(rows: seqlen, cols: architecture.shape.intermediateSize, repeating: 0.5)
            let o = Matrix(rows: seqlen, cols: architecture.shape.heads * architecture.shape.headDim, repeating: 0.5)
            func products() {
                for linear in BlockLinear.allCases {
                    let w = block.weight(linear)
                    let input = linear == .down ? z : (linear == .o ? o : x)
                    _ = input.linear(w)
                }
            }
            products()
            let reps = 3 * count
            let t1 = Date()
            for _ in 0..<reps { products() }
            let gemmSeconds = Date().timeIntervalSince(t1) / Double(reps)
            let gemmFlops = BlockLinear.allCases.reduce(0.0) { acc, l in
                let s = architecture.shape.weightShape(l)
                return acc + 2 * Double(seqlen * s.rows * s.cols)
            }
            let forwardRate = flops / forwardSeconds / 1e9
            let gemmRate = gemmFlops / gemmSeconds / 1e9
            if json {
                try JSONOutput.print(["blocks": count, "seqlen": seqlen, "tokens_per_second": Double(seqlen) / forwardSeconds,
                                      "forward_gflops": forwardRate, "sgemm_gflops": gemmRate, "ratio": forwardRate / gemmRate])
                return
            }
            printResult(String(format: """
                forward: %d blocks, L=%d: %.0f tokens/s, %.1f GFLOP/s (block FLOPs incl. attention)
                sgemm, same seven products: %.1f GFLOP/s
                ratio forward/sgemm: %.2f
                """, count, seqlen, Double(seqlen) / forwardSeconds, forwardRate, gemmRate, forwardRate / gemmRate))
        }
    }
}
