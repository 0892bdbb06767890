import Foundation

/// `--atp-beta auto` (issue 12 item 5): ATP's β chosen by held-out perplexity over a grid, and
/// the record of that choice written into the plan's settings.
///
/// The reference (wzhuang-xmu/ATP `search.sh`) steps β by 0.002 from 0.002 while `main.py`
/// accepts it and keeps the β with the lowest **WikiText-2 evaluation** perplexity. owlprune keeps
/// the idea and changes two things (docs/algorithms.md §8.3): the grid is `points` evenly spaced
/// values over ATP's legal range, and the score is the NLL of a held-out slice of the
/// *calibration* text that no calibration window overlaps, never the evaluation file.
public struct ATPBetaGrid: Sendable, Equatable, Codable {
    public struct Point: Sendable, Equatable, Codable {
        public var beta: Double
        /// Float64 sum of the held-out slice's per-token NLLs (`PerplexityResult.nllSum`).
        public var nllSum: Double
        public var perplexity: Double

        enum CodingKeys: String, CodingKey { case beta, nllSum = "nll_sum", perplexity }

        public init(beta: Double, nllSum: Double, perplexity: Double) {
            self.beta = beta
            self.nllSum = nllSum
            self.perplexity = perplexity
        }
    }

    /// Tokens of the held-out tail (`heldoutWindows × seqlen`), scored as `heldoutWindows` windows.
    public var heldoutTokens: Int
    public var heldoutWindows: Int
    /// Grid size asked for (`--atp-grid-points`); `points` may hold fewer (see `betas`).
    public var requestedPoints: Int
    public var points: [Point]
    public var chosen: Double

    enum CodingKeys: String, CodingKey {
        case heldoutTokens = "heldout_tokens", heldoutWindows = "heldout_windows"
        case requestedPoints = "requested_points", points, chosen
    }

    public init(heldoutTokens: Int, heldoutWindows: Int, requestedPoints: Int, points: [Point]) throws {
        self.heldoutTokens = heldoutTokens
        self.heldoutWindows = heldoutWindows
        self.requestedPoints = requestedPoints
        self.points = points
        chosen = try Self.choose(points).beta
    }

    /// ATP's β bound `β_max = min(2s, 2(1−s))/(B−1)` (§8.2; wzhuang-xmu/ATP `main.py`, "Illegal beta").
    public static func maxBeta(blocks: Int, target s: Double) -> Double {
        blocks > 1 ? min(2 * s, 2 * (1 - s)) / Double(blocks - 1) : 0
    }

    /// `P` points, in float64 and increasing: `β_k = k · β_max / P`, `k = 1 … P`, when `atpSparsities`
    /// accepts `β_max`; otherwise (at `s ≥ 0.5`, where `β_max` gives the last block sparsity 1)
    /// `β_k = k · β_max / (P + 1)`, all inside the open range. An empty range (one block, or
    /// `s = 0`) is an error.
    public static func betas(blocks: Int, target s: Double, points: Int) throws -> [Double] {
        guard points >= 1 else {
            throw PruningError.invalidArgument(argument: "--atp-grid-points", value: "\(points)", reason: "must be at least 1")
        }
        let bound = maxBeta(blocks: blocks, target: s)
        let valid = { (beta: Double) in beta > 0 && (try? atpSparsities(blocks: blocks, target: s, beta: beta)) != nil }
        let divisor = Double(valid(bound) ? points : points + 1)
        let grid = (1...points).map { Double($0) * bound / divisor }.filter(valid)
        guard !grid.isEmpty else {
            throw PruningError.invalidArgument(argument: "--atp-beta", value: "auto",
                                               reason: "ATP's legal range (0, \(bound)] is empty for \(blocks) block(s) at sparsity \(s)")
        }
        return grid
    }

    /// The point with the lowest held-out NLL sum; on equal sums the smaller β (project rule: the
    /// smaller β is the plan closer to uniform).
    public static func choose(_ points: [Point]) throws -> Point {
        guard let best = points.min(by: { $0.nllSum != $1.nllSum ? $0.nllSum < $1.nllSum : $0.beta < $1.beta }) else {
            throw PruningError.invalidArgument(argument: "--atp-beta", value: "auto", reason: "the β grid has no points")
        }
        return best
    }
}
