import Foundation

/// What `owlprune eval` reports. `nllSum` is the float64 sum, in window order and token order, of
/// the float32 per-token NLLs, so equal text in the JSON means equal bits across rank counts.
public struct PerplexityResult: Codable, Sendable, Equatable {
    public var perplexity: Double
    public var nllSum: Double
    public var tokensScored: Int
    public var windows: Int
    public var seqlen: Int
    public var ranks: Int
    public var tokensPerSecond: Double
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case perplexity, nllSum = "nll_sum", tokensScored = "tokens_scored", windows, seqlen, ranks
        case tokensPerSecond = "tokens_per_second", seconds
    }

    public func jsonString() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}

/// Window arithmetic of the perplexity protocol (docs/algorithms.md §11.1 steps 3 and 6).
public enum PerplexityProtocol {
    /// Non-overlapping windows `[w·L, (w+1)·L)`, `n = floor(T/L)`, leftover dropped, capped by `maxWindows`.
    public static func windowCount(tokens: Int, seqlen: Int, maxWindows: Int?, file: String) throws -> Int {
        let n = tokens / seqlen
        guard n >= 1 else { throw EvaluationError.textTooShort(file: file, tokens: tokens, seqlen: seqlen) }
        return min(n, maxWindows ?? n)
    }

    /// `exp(Σ nll / (n·(L−1)))`.
    public static func perplexity(nllSum: Double, scoredTokens: Int) -> Double {
        Foundation.exp(nllSum / Double(scoredTokens))
    }
}
