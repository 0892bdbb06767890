import Evaluation
import Foundation
import Testing

@Suite struct PerplexityProtocolTests {
    /// docs/algorithms.md §11.1: n = floor(T/L), leftover dropped, capped by --max-windows.
    @Test func windowCounts() throws {
        #expect(try PerplexityProtocol.windowCount(tokens: 304_830, seqlen: 2048, maxWindows: nil, file: "f") == 148)
        #expect(try PerplexityProtocol.windowCount(tokens: 304_830, seqlen: 512, maxWindows: 40, file: "f") == 40)
        #expect(try PerplexityProtocol.windowCount(tokens: 1024, seqlen: 512, maxWindows: nil, file: "f") == 2)
    }

    @Test func tooFewTokensNamesFileAndLength() {
        #expect {
            try PerplexityProtocol.windowCount(tokens: 100, seqlen: 512, maxWindows: nil, file: "wiki.test.raw")
        } throws: { error in
            (error as? LocalizedError)?.errorDescription == "wiki.test.raw tokenizes to only 100 tokens, fewer than one window of --seqlen 512"
        }
    }

    @Test func perplexityIsExpOfMeanNLL() {
        #expect(PerplexityProtocol.perplexity(nllSum: 2 * log(3.0) * 10, scoredTokens: 20) == exp(log(3.0)))
    }
}
