import Checkpoint
import Distribution
import Foundation
import MPIKit
import Model
import Pruning
import Tensor

/// The forward passes of depth pruning (issue 12 item 6), on the dense model and the calibration
/// windows owlprune already draws. Every rank takes its contiguous share of the windows
/// (`windowShare`, as the windows split) and reads every block; per-window float64 sums are
/// combined by an all-reduce in which each rank fills only its own windows (adding zeros is
/// exact, so every rank gets the same vector bit for bit) and then summed in window order. The
/// result does not depend on the rank or thread count.
public struct DepthSearch {
    public let comm: Communicator
    public let architecture: Architecture
    public let source: any WeightSource
    public let windows: CalibrationWindows
    public let threads: Int
    let progress: (String) -> Void

    public init(comm: Communicator, architecture: Architecture, source: any WeightSource, windows: CalibrationWindows,
                threads: Int, progress: @escaping (String) -> Void) {
        self.comm = comm
        self.architecture = architecture
        self.source = source
        self.windows = windows
        self.threads = max(1, threads)
        self.progress = progress
    }

    public var myWindows: Range<Int> { windowShare(count: windows.count, ranks: comm.size, rank: comm.rank) }

    /// Checks `count` against the model before any pass: one line naming the flag.
    public static func check(count: Int, method: BlockRemovalMethod, blocks: Int) throws {
        guard count >= 1 else { throw ClusterError.badArgument("--remove-blocks \(count): must be at least 1") }
        guard count < blocks else {
            throw ClusterError.badArgument("--remove-blocks \(count): the model has \(blocks) blocks (num_hidden_layers); at least one must remain")
        }
        if method == .sleb, count > SLEBSearch.maxRemovable(blocks: blocks) {
            throw ClusterError.badArgument("--remove-blocks \(count): SLEB never removes the first or last remaining block, so at most \(SLEBSearch.maxRemovable(blocks: blocks)) of \(blocks) can go")
        }
    }

    public func run(method: BlockRemovalMethod, count: Int) throws -> BlockRemovalResult {
        try Self.check(count: count, method: method, blocks: architecture.blockCount)
        switch method {
        case .shortgpt: return try shortGPT(count: count)
        case .sleb: return try sleb(count: count)
        case .streamline: return try streamline(count: count, replacement: .none).result
        }
    }

    /// Sums a per-window vector (`rows` windows of this rank × `width`) over all windows in window order.
    func windowOrderSum(_ mine: [[Double]], width: Int) throws -> [Double] {
        var full = [Double](repeating: 0, count: windows.count * width)
        for (k, row) in mine.enumerated() {
            let w = myWindows.lowerBound + k
            for c in 0..<width { full[w * width + c] = row[c] }
        }
        if comm.size > 1 { full = try comm.allreduceSum(full) }
        var total = [Double](repeating: 0, count: width)
        for w in 0..<windows.count { for c in 0..<width { total[c] += full[w * width + c] } }
        return total
    }

    func embed(_ w: Int) throws -> Matrix { try embed(ids: windows.window(w)) }

    func embed(ids: [Int]) throws -> Matrix {
        if let bad = ids.first(where: { $0 < 0 || $0 >= architecture.vocabularySize }) {
            throw ModelError.tokenOutOfRange(id: bad, vocabulary: architecture.vocabularySize)
        }
        return try source.rows(ModelTensorName.embedding, ids)
    }

    /// ShortGPT, block-major on the dense model: one block in memory at a time, this rank's windows'
    /// hidden states carried from block to block. Per window and block, Σ_t cos(x_t, y_t) over
    /// all L tokens (icip-cas/ShortGPT `compute_bi` scores every position of every sequence,
    /// `hidden_states[i]` against `hidden_states[i+1]`).
    ///
    /// Where the reference differs: transformers' last `hidden_states` entry is taken after the
    /// final norm, so the reference's last block is scored against the normed output; the issue
    /// defines BI on the block's own output, which is what is used here.
    private func shortGPT(count: Int) throws -> BlockRemovalResult {
        let blocks = architecture.blockCount
        let rope = architecture.ropeTable(positions: windows.length)
        var hidden = try myWindows.map(embed)
        var perWindow = [[Double]](repeating: [Double](repeating: 0, count: blocks), count: hidden.count)
        for b in 0..<blocks {
            let block = try DecoderBlock.load(index: b, shape: architecture.shape, from: source)
            let inputs = hidden
            let results = Parallel.map(inputs.count, workers: threads) { k -> (Matrix, Double) in
                let y = block.forward(inputs[k], rope: rope)
                return (y, BlockInfluence.cosineSum(input: inputs[k], output: y))
            }
            for (k, r) in results.enumerated() {
                hidden[k] = r.0
                perWindow[k][b] = r.1
            }
            if comm.rank == 0 { progress("shortgpt: block \(b + 1)/\(blocks)") }
        }
        let sums = try windowOrderSum(perWindow, width: blocks)
        let tokens = windows.count * windows.length
        let scores = sums.map { BlockInfluence.score(cosineSum: $0, tokens: tokens) }
        let removed = BlockInfluence.lowest(scores, count: count)
        return result(method: .shortgpt, removed: removed, scores: scores, rounds: nil)
    }

    /// SLEB, greedy as jiwonsong-dev/SLEB `sleb.py: sleb`: K rounds; in each, every candidate block
    /// (`SLEBSearch.candidates`) is switched off in turn, the calibration loss of the model
    /// without it is measured (`get_loss`: cross-entropy of every window's next tokens), and the
    /// candidate with the lowest loss is removed for good.
    ///
    /// Cost: the model is resident in float32 on every rank (the rounds read every block many
    /// times). Per window and round the blocks before a candidate are shared by every later
    /// candidate: the window's hidden state is carried through the alive blocks once, and at each
    /// candidate the rest of the model after it is run from that state — Σ (suffix lengths)
    /// block forwards instead of candidates × alive blocks.
    ///
    /// The loss compared is the float64 sum of per-token NLLs over all windows (window order, token
    /// order). `get_loss` sums `mean CE × seqlen` per sample, which is the same sum times the
    /// constant L/(L−1), so the order of candidates is the same. Reported: exp(mean NLL).
    private func sleb(count: Int) throws -> BlockRemovalResult {
        let blocks = architecture.blockCount
        let slice = try ModelSlice.load(from: source, architecture: architecture, blocks: 0..<blocks, withEmbedding: true,
                                        withHead: true, positions: windows.length)
        let mine = myWindows
        let tokenLists = mine.map { windows.window($0) }
        let embedded = try mine.map(embed)
        let scored = Double(windows.count * (windows.length - 1))
        var alive = Array(0..<blocks)
        var removed: [Int] = []
        var rounds: [[Double?]] = []
        for round in 0..<count {
            let candidates = SLEBSearch.candidates(alive: alive)
            let aliveNow = alive
            let perWindow = Parallel.map(embedded.count, workers: threads) { k -> [Double] in
                Self.candidateLosses(slice: slice, alive: aliveNow, candidates: Set(candidates), input: embedded[k],
                                     tokens: tokenLists[k])
            }
            let losses = try windowOrderSum(perWindow, width: candidates.count)
            let pick = SLEBSearch.pick(losses: losses)
            var row = [Double?](repeating: nil, count: blocks)
            for (i, c) in candidates.enumerated() { row[c] = exp(losses[i] / scored) }
            rounds.append(row)
            removed.append(candidates[pick])
            alive.removeAll { $0 == candidates[pick] }
            if comm.rank == 0 {
                progress(String(format: "sleb: round %d/%d removes block %d (calibration perplexity %.4f)", round + 1, count,
                                candidates[pick], exp(losses[pick] / scored)))
            }
        }
        return result(method: .sleb, removed: removed, scores: rounds[0], rounds: rounds)
    }

    /// One window's NLL sum (float64, token order) for each candidate removed alone from `alive`,
    /// in candidate order.
    static func candidateLosses(slice: ModelSlice, alive: [Int], candidates: Set<Int>, input: Matrix, tokens: [Int]) -> [Double] {
        var losses: [Double] = []
        var prefix = input
        for (p, b) in alive.enumerated() {
            if candidates.contains(b) {
                var x = prefix
                for q in alive[(p + 1)...] { x = slice.blocks[q].forward(x, rope: slice.rope) }
                var sum = 0.0
                for nll in slice.head!.windowNLL(hidden: x, tokens: tokens) { sum += Double(nll) }
                losses.append(sum)
            }
            if p < alive.count - 1 { prefix = slice.blocks[b].forward(prefix, rope: slice.rope) }
        }
        return losses
    }

    func result(method: BlockRemovalMethod, removed: [Int], scores: [Double?], rounds: [[Double?]]?) -> BlockRemovalResult {
        let kept = BlockRenumbering(removing: removed, of: architecture.blockCount).kept
        return BlockRemovalResult(method: method.rawValue, removed: removed, kept: kept, scores: scores, rounds: rounds)
    }
}
