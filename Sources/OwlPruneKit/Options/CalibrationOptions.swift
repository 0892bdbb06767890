import ArgumentParser
import Cluster
import Foundation
import Pruning

/// Where the calibration windows come from (docs/algorithms.md §2).
package struct CalibrationOptions: ParsableArguments {
    /// Explicit: `ParsableArguments` needs an initializer as visible as the type (the command line's module parses it).
    package init() {}
    @Option(help: "Calibration text; windows are drawn from its tokens with SplitMix64.", completion: .file())
    package var calib: String?

    @Option(name: .customLong("calib-tokens"), help: "Pre-tokenized windows: nsamples × seqlen little-endian uint32 ids.")
    package var calibTokens: String?

    @Option(name: .customLong("nsamples"), help: "Number of calibration windows N. (default: 128)")
    package var givenNsamples: Int?
    package var nsamples: Int { get { givenNsamples ?? 128 } set { givenNsamples = newValue } }

    @Option(help: "Window length L (default: min(2048, max_position_embeddings)).")
    package var seqlen: Int?

    @Option(name: .customLong("seed"), help: "SplitMix64 seed of the window starts. (default: 0)")
    package var givenSeed: UInt64?
    package var seed: UInt64 { get { givenSeed ?? 0 } set { givenSeed = newValue } }

    /// Takes the recipe's value of every setting the command line did not give.
    package mutating func fill(from r: RunRequest) {
        calib = calib ?? r.calib
        calibTokens = calibTokens ?? r.calibTokens
        givenNsamples = givenNsamples ?? r.nsamples
        seqlen = seqlen ?? r.seqlen
        givenSeed = givenSeed ?? r.seed
    }

    /// `--nsamples × --seqlen` ids (8 bytes each in memory) must be countable: the windows are
    /// one array of that many ids, and the product otherwise traps (issue 10 item 1).
    package static func checkTokenCount(nsamples: Int, seqlen: Int) throws {
        let (tokens, overflow) = nsamples.multipliedReportingOverflow(by: seqlen)
        guard !overflow, !tokens.multipliedReportingOverflow(by: 8).overflow else {
            throw ValidationError("--nsamples \(nsamples) × --seqlen \(seqlen) tokens overflow a 64-bit count")
        }
    }

    /// Not `validate()`, as `MethodOptions.check`: a recipe may give `calib`.
    package func check() throws {
        guard (calib == nil) != (calibTokens == nil) else {
            throw ValidationError("give exactly one of --calib FILE or --calib-tokens FILE.ids")
        }
        guard nsamples >= 1 else { throw ValidationError("--nsamples \(nsamples): must be at least 1") }
        if let s = seqlen, s < 2 { throw ValidationError("--seqlen \(s): a window needs at least 2 tokens") }
        if let s = seqlen { try Self.checkTokenCount(nsamples: nsamples, seqlen: s) }
    }
}
