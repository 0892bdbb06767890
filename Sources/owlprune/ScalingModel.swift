import OwlPruneKit
import Cluster
import Foundation
import Model
import Pruning

/// A cost model of the windows split, fitted on a measured one-rank run and used to predict
/// other rank counts, shapes and links (`owlprune bench cluster`).
///
/// Per job: `T(R) = other + load + compute · share(R) + solve · makespan(R) + comm(R)`, where
/// - `compute`: forward passes and statistic terms over all windows (FLOPs / measured rate);
///   `share(R) = ⌈N/R⌉ / N` of it runs on the busiest rank;
/// - `solve`: pruning the linears (cost units of `LinearAssignment` / measured rate); per block the
///   busiest rank's share is the LPT makespan (row-split SparseGPT: the dealt factorizations'
///   makespan plus `1/R` of the sweeps, with the factor broadcasts and per-tile score gathers
///   added to `comm`);
/// - `load`: every rank reads every block (bytes / measured rate; the default transport);
/// - `comm(R)`: per block, the statistics chain (R−1 serial hops of the state, then a broadcast)
///   and the broadcast of the seven pruned linears (float32); a broadcast of `b` bytes is
///   costed as `2b/bandwidth` (MPICH's scatter + allgather for large messages) plus a latency
///   per hop;
/// - `other`: start-up, calibration, plan and writing, taken as measured.
/// `cores` > 0 caps the compute parallelism at that many concurrent ranks with a measured
/// speedup `ceiling` (this machine: R ranks on 2 vCPUs); 0 means one rank per node.
public struct ScalingModel: Sendable {
    public struct Rates: Sendable {
        public var flopsPerSecond: Double
        public var solveUnitsPerSecond: Double
        public var loadBytesPerSecond: Double
        public var otherSeconds: Double

        public init(flopsPerSecond: Double, solveUnitsPerSecond: Double, loadBytesPerSecond: Double, otherSeconds: Double) {
            self.flopsPerSecond = flopsPerSecond
            self.solveUnitsPerSecond = solveUnitsPerSecond
            self.loadBytesPerSecond = loadBytesPerSecond
            self.otherSeconds = otherSeconds
        }
    }

    public struct Job: Sendable {
        public var shape: BlockShape
        public var blocks: Int
        public var windows: Int
        public var length: Int
        public var method: PruningMethod
        public var kinds: StatisticKinds
        public var owl: Bool
        /// Bytes per stored weight (bf16: 2).
        public var storedBytesPerWeight: Int

        public init(shape: BlockShape, blocks: Int, windows: Int, length: Int, method: PruningMethod,
                    kinds: StatisticKinds, owl: Bool, storedBytesPerWeight: Int) {
            self.shape = shape
            self.blocks = blocks
            self.windows = windows
            self.length = length
            self.method = method
            self.kinds = kinds
            self.owl = owl
            self.storedBytesPerWeight = storedBytesPerWeight
        }

        /// FLOPs of every forward pass and statistic term of the job (both passes with OWL). The
        /// last block's outputs feed nothing, so neither pass computes them: its statistics need its
        /// inputs only (no down projection) and nothing propagates past it. (Counting them put a
        /// quarter too much into a two-block job's floor: a llama-7b-shaped Wanda prune "ran at
        /// 1.10× its floor" while its forwards took 0.77 of the floor's time.)
        public var computeFlops: Double {
            let block = DecoderBlock(index: 0, shape: shape, weights: [:], inputNorm: [], postAttentionNorm: [])
            let forward = block.flops(tokens: length)
            let s = shape.weightShape(.down)
            let down = 2 * Double(length) * Double(s.rows * s.cols)
            let t = Double(length)
            let columns = statisticColumns
            var terms = columns.reduce(0.0) { $0 + 2 * t * Double($1) }
            if kinds.contains(.hessian) { terms += columns.reduce(0.0) { $0 + t * Double($1 * $1) } }
            if kinds.contains(.dsnot) { terms += columns.reduce(0.0) { $0 + 4 * t * Double($1) } }
            let b = Double(blocks)
            // OWL's dense pass: every block's forward with its Wanda norms, the last without its down projection.
            let owlPass = owl ? b * (forward + columns.reduce(0.0) { $0 + 2 * t * Double($1) }) - down : 0
            // Phase 2: statistics without the down projection and the terms, then the pruned forward
            // of every block but the last.
            let prunePass = b * ((forward - down) + terms) + (b - 1) * forward
            return Double(windows) * (owlPass + prunePass)
        }

        var statisticColumns: [Int] {
            [shape.hiddenSize, shape.heads * shape.headDim, shape.hiddenSize, shape.intermediateSize]
        }

        /// The flattened statistics state of one block, bytes.
        public var statisticsBytes: Double {
            Double(statisticColumns.reduce(0) { n, c in
                n + c + (kinds.contains(.hessian) ? c * c : 0) + (kinds.contains(.dsnot) ? 2 * c : 0)
            } * 4)
        }

        public var blockFloat32Bytes: Double {
            Double(BlockLinear.allCases.reduce(0) { $0 + shape.weightShape($1).rows * shape.weightShape($1).cols } * 4)
        }

        public var solveUnitsPerBlock: Double {
            BlockLinear.allCases.reduce(0.0) {
                $0 + LinearAssignment.cost(rows: shape.weightShape($1).rows, cols: shape.weightShape($1).cols, method: method)
            }
        }

        /// Plain SparseGPT over several ranks sweeps every linear's rows on all ranks (`RowSplitSparseGPT`).
        public var rowSplitSweep: Bool { method == .sparsegpt && !kinds.contains(.dsnot) }

        /// The busiest rank's cost units per block: the LPT makespan of `LinearAssignment`, or with
        /// the row split `FactorAssignment.makespan` (dealt factorizations and solo sweeps, then
        /// `1/R` of the row-split sweeps).
        public func solveMakespan(ranks: Int) -> Double {
            var load = [Double](repeating: 0, count: ranks)
            if rowSplitSweep && ranks > 1 { return FactorAssignment.makespan(shape: shape, ranks: ranks) }
            let a = LinearAssignment(shape: shape, method: method, ranks: ranks)
            for l in BlockLinear.allCases {
                load[a.rank(of: l)] += LinearAssignment.cost(rows: shape.weightShape(l).rows, cols: shape.weightShape(l).cols, method: method)
            }
            return load.max() ?? 0
        }

        /// Row-split SparseGPT's extra traffic per block: each input's factor broadcast (`cols²` floats) and
        /// one all-gather of the tile's scores per 128 columns; returns (bytes, messages).
        var rowSplitTraffic: (bytes: Double, messages: Double) {
            guard rowSplitSweep else { return (0, 0) }
            var bytes = 0.0, messages = 0.0
            for input in LinearInput.allCases {
                let c = shape.weightShape(BlockLinear.allCases.first { $0.input == input }!).cols
                bytes += Double(c * c) * 4 * 2
                messages += 1
            }
            for l in BlockLinear.allCases {
                let s = shape.weightShape(l)
                bytes += Double(s.rows * s.cols) * 4
                messages += Double((s.cols + 127) / 128)
            }
            return (bytes, messages)
        }

        public var loadBytes: Double { Double(blocks) * blockFloat32Bytes / 4 * Double(storedBytesPerWeight) }
    }

    public struct Prediction: Sendable {
        public var seconds: Double
        public var computeSeconds: Double
        public var solveSeconds: Double
        public var commSeconds: Double
        public var loadSeconds: Double
        public var otherSeconds: Double
    }

    public var rates: Rates
    /// Link bandwidth (bytes/s) and per-message latency (s).
    public var bandwidth: Double
    public var latency: Double

    public init(rates: Rates, bandwidth: Double, latency: Double) {
        self.rates = rates
        self.bandwidth = bandwidth
        self.latency = latency
    }

    /// Fits the rates on a one-rank run's measured seconds.
    public static func fit(job: Job, computeSeconds: Double, solveSeconds: Double, loadSeconds: Double,
                           otherSeconds: Double) -> Rates {
        Rates(flopsPerSecond: job.computeFlops / max(computeSeconds, 1e-9),
              solveUnitsPerSecond: Double(job.blocks) * job.solveUnitsPerBlock / max(solveSeconds, 1e-9),
              loadBytesPerSecond: job.loadBytes / max(loadSeconds, 1e-9), otherSeconds: otherSeconds)
    }

    /// - Parameters:
    ///   - concurrency: how many of the R ranks really compute at once (R on a cluster with one
    ///     rank per node; the measured two-process speedup on a two-core machine).
    public func predict(_ job: Job, ranks r: Int, concurrency: Double) -> Prediction {
        let slowdown = Double(r) / max(min(concurrency, Double(r)), 1)
        let share = Double((job.windows + r - 1) / r) / Double(job.windows)
        let compute = job.computeFlops / rates.flopsPerSecond * share * slowdown
        let solve = Double(job.blocks) * job.solveMakespan(ranks: r) / rates.solveUnitsPerSecond * slowdown
        let load = job.loadBytes / rates.loadBytesPerSecond * slowdown
        var comm = 0.0
        if r > 1 {
            let hops = Double(r - 1), tree = log2(Double(r)).rounded(.up)
            let chain = hops * (job.statisticsBytes / bandwidth + latency) + 2 * job.statisticsBytes / bandwidth + tree * latency
            let linears = 2 * job.blockFloat32Bytes / bandwidth + 7 * tree * latency
            var perBlock = chain + linears
            let rowSplit = job.rowSplitTraffic
            perBlock += rowSplit.bytes / bandwidth + rowSplit.messages * tree * latency
            if job.owl { perBlock += hops * latency + tree * latency }  // the OWL pass's chain of Wanda norms
            comm = Double(job.blocks) * perBlock
        }
        return Prediction(seconds: rates.otherSeconds + load + compute + solve + comm, computeSeconds: compute,
                          solveSeconds: solve, commSeconds: comm, loadSeconds: load, otherSeconds: rates.otherSeconds)
    }
}
