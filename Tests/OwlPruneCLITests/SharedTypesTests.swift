import ArgumentParser
import Checkpoint
import Cluster
@testable import Distribution
import Foundation
import Pruning
import Testing
@testable import OwlPruneKit
@testable import owlprune

/// Issue 23 item 4: the small shared types the command line is built from.
@Suite struct SharedTypesTests {
    /// Both size flags read sizes as transformers does, through one parser.
    @Test func bothSizeFlagsShareTransformersConvention() throws {
        let p = try RecipeFlagsTests.prune(["--calib", "t.txt", "--max-memory", "5GB", "--max-shard-size", "5GB"])
        #expect(try p.memory.maxMemoryBytes == 5_000_000_000 && (p.pruneRun(overrides: SparsityOverrides())).shardSizeBytes == 5_000_000_000)
        let q = try RecipeFlagsTests.prune(["--calib", "t.txt", "--max-memory", "5GiB", "--max-shard-size", "5GiB"])
        #expect(try q.memory.maxMemoryBytes == 5 << 30 && (q.pruneRun(overrides: SparsityOverrides())).shardSizeBytes == 5 << 30)
        for flag in ["--max-memory", "--max-shard-size"] {
            #expect(throws: (any Error).self) { try RecipeFlagsTests.prune(["--calib", "t.txt", flag, "48G"]) }
            do { _ = try RecipeFlagsTests.prune(["--calib", "t.txt", flag, "48G"]) } catch {
                #expect(OwlPrune.Prune.message(for: error).contains("say 48GB (48·10^9 bytes) or 48GiB (48·2^30 bytes)"),
                        "\(OwlPrune.Prune.message(for: error))")
            }
        }
    }

    /// A comma list of a fixed set: one line naming the flag, the value and the choices.
    @Test func listValuesAreCheckedAgainstTheirChoices() throws {
        #expect(try SweepGrid.parseChoices("wanda, sparsegpt", flag: "--method") == [MethodName.wanda, .sparsegpt])
        do {
            let _: [AllocationName] = try SweepGrid.parseChoices("owl,owll", flag: "--allocation")
            Issue.record("owll was accepted")
        } catch {
            #expect("\(error)" == "--allocation owll: expected one of uniform, owl, atp, dlp, alpha")
        }
    }

    @Test func dtypeNamesAreMappedOnce() {
        #expect(DType.allCases.map(\.torchName) == ["float32", "bfloat16", "float16"])
        #expect(DType.allCases.map(\.storage) == [.f32, .bf16, .f16])
        #expect(DType.allCases.allSatisfy { DType($0.storage) == $0 })
        #expect(DType(SafetensorsDType.i32) == nil)
    }

    @Test func svgTextIsEscaped() {
        #expect(svgEscaped(#"a<b & "c">"#) == "a&lt;b &amp; &quot;c&quot;&gt;")
    }

    /// The dealer every assignment uses: longest first, each to the least-loaded bin, ties to the
    /// lower index; the same deal the hand-written loops of the sweep and the linears made.
    @Test func longestFirstDeals() {
        // 5 → bin 0; 3 → bin 1; 3 → bin 1 (3 < 5); 1 → bin 0 (5 < 6).
        #expect(LongestFirst.deal(costs: [1, 5, 3, 3], bins: 2) == [0, 0, 1, 1])
        #expect(LongestFirst.bins(costs: [1, 5, 3, 3], bins: 2) == [[0, 1], [2, 3]])
        #expect(LongestFirst.deal(costs: [2, 2, 2], bins: 3) == [0, 1, 2])
        #expect(SweepDealer.deal(costs: [1, 1, 1, 1], groups: 2) == [[0, 2], [1, 3]])
    }

    /// ArgumentParser's multi-line list of choices becomes the one line every error is.
    @Test func usageErrorsAreOneLine() {
        let message = "The value 'x' is invalid for '--to <to>'. Please provide one of the following:\n  - hf\n  - gguf"
        #expect(UsageError.oneLine(message) == "The value 'x' is invalid for '--to <to>'. Please provide one of: hf, gguf")
    }
}

/// A mistyped flag is reported as itself, not as the check it made fail (swift-argument-parser
/// validates before it reports unrecognized arguments). Controls: without the typo the check's
/// own message stands, and a valid command line still parses.
@Suite struct UnrecognizedFirstTests {
    private func message(_ arguments: [String]) -> String? {
        do { _ = try OwlPrune.parse(arguments); return nil } catch { return OwlPrune.message(for: error) }
    }

    @Test func aTypoIsNamedBeforeTheCheckItBreaks() throws {
        let typo = message(["prune", "--modle", "m", "--out", "o", "--calib", "c.txt"])
        #expect(typo?.contains("Unknown option '--modle'") == true, "\(typo ?? "parsed")")
        let missing = message(["prune", "--out", "o", "--calib", "c.txt"])
        #expect(missing == "Missing expected argument '--model <dir>'", "\(missing ?? "parsed")")
        let sweep = message(["sweep", "--model", "m", "--out", "o", "--calib", "c.txt", "--evl", "t.txt"])
        #expect(sweep?.contains("Unknown option '--evl'") == true, "\(sweep ?? "parsed")")
        #expect(!ParseOnly.active)
    }
}
