import Foundation

/// A value with llama.cpp's one-sigma uncertainty beside it.
public struct Estimate: Codable, Sendable, Equatable {
    public var value: Double
    public var uncertainty: Double
}

/// A percentile of the per-token values: `fraction` 0.999 is llama.cpp's "99.9%" line.
public struct Percentile: Codable, Sendable, Equatable {
    public var fraction: Double
    public var value: Double
}

/// How far a model Q has moved from its base B on a text, the statistics and order of
/// llama-perplexity's `--kl-divergence` summary (`tools/perplexity/perplexity.cpp`,
/// `kl_divergence`). Perplexities are the exponentials of float64 mean NLLs computed from the
/// float64 log-softmax; Δp values are fractions (the text output shows them in %).
public struct DivergenceStatistics: Codable, Sendable, Equatable {
    /// The percentiles llama.cpp prints, highest first (the median separately).
    public static let kldFractions: [Double] = [0.999, 0.99, 0.95, 0.90, 0.10, 0.05, 0.01, 0.001]
    public static let deltaPFractions: [Double] = [0.999, 0.99, 0.95, 0.90, 0.75, 0.25, 0.10, 0.05, 0.01, 0.001]

    public var tokens: Int
    public var perplexity: Estimate
    public var perplexityBase: Estimate
    public var logPerplexityCorrelation: Double
    public var logPerplexityRatio: Estimate
    public var perplexityRatio: Estimate
    public var perplexityDifference: Estimate
    public var kld: Estimate
    public var kldMaximum: Double
    public var kldMedian: Double
    public var kldMinimum: Double
    /// At `kldFractions`, in that order.
    public var kldPercentiles: [Percentile]
    public var deltaP: Estimate
    public var deltaPMaximum: Double
    public var deltaPMedian: Double
    public var deltaPMinimum: Double
    /// At `deltaPFractions`, in that order.
    public var deltaPPercentiles: [Percentile]
    public var deltaPRMS: Estimate
    public var sameTop: Estimate

    enum CodingKeys: String, CodingKey {
        case tokens, perplexity, perplexityBase = "perplexity_base"
        case logPerplexityCorrelation = "ln_ppl_correlation", logPerplexityRatio = "ln_ppl_ratio"
        case perplexityRatio = "ppl_ratio", perplexityDifference = "ppl_difference"
        case kld, kldMaximum = "kld_max", kldMedian = "kld_median", kldMinimum = "kld_min", kldPercentiles = "kld_percentiles"
        case deltaP = "delta_p", deltaPMaximum = "delta_p_max", deltaPMedian = "delta_p_median", deltaPMinimum = "delta_p_min"
        case deltaPPercentiles = "delta_p_percentiles", deltaPRMS = "delta_p_rms", sameTop = "same_top"
    }

    /// llama-perplexity's summary, line for line and in its number formats, so the two can be
    /// read (or diffed) side by side.
    public func llamaCppLines() -> [String] {
        func f(_ format: String, _ args: CVarArg...) -> String { String(format: format, arguments: args) }
        let pct = { (x: Double) in x * 100 }
        var lines = ["====== Perplexity statistics ======"]
        lines.append(f("Mean PPL(Q)                   : %10.6f ± %10.6f", perplexity.value, perplexity.uncertainty))
        lines.append(f("Mean PPL(base)                : %10.6f ± %10.6f", perplexityBase.value, perplexityBase.uncertainty))
        lines.append(f("Cor(ln(PPL(Q)), ln(PPL(base))): %6.2f%%", pct(logPerplexityCorrelation)))
        lines.append(f("Mean ln(PPL(Q)/PPL(base))     : %10.6f ± %10.6f", logPerplexityRatio.value, logPerplexityRatio.uncertainty))
        lines.append(f("Mean PPL(Q)/PPL(base)         : %10.6f ± %10.6f", perplexityRatio.value, perplexityRatio.uncertainty))
        lines.append(f("Mean PPL(Q)-PPL(base)         : %10.6f ± %10.6f", perplexityDifference.value, perplexityDifference.uncertainty))
        lines += ["", "====== KL divergence statistics ======"]
        lines.append(f("Mean    KLD: %10.6f ± %10.6f", kld.value, kld.uncertainty))
        lines.append(f("Maximum KLD: %10.6f", kldMaximum))
        let kldLabels = ["99.9%", "99.0%", "95.0%", "90.0%", "10.0%", " 5.0%", " 1.0%", " 0.1%"]
        for (i, label) in kldLabels.enumerated() {
            if i == 4 { lines.append(f("Median  KLD: %10.6f", kldMedian)) }
            lines.append(f("%@   KLD: %10.6f", label, kldPercentiles[i].value))
        }
        lines.append(f("Minimum KLD: %10.6f", kldMinimum))
        lines += ["", "====== Token probability statistics ======"]
        lines.append(f("Mean    Δp: %6.3f ± %5.3f %%", pct(deltaP.value), pct(deltaP.uncertainty)))
        lines.append(f("Maximum Δp: %6.3f%%", pct(deltaPMaximum)))
        let dpLabels = ["99.9%", "99.0%", "95.0%", "90.0%", "75.0%", "25.0%", "10.0%", " 5.0%", " 1.0%", " 0.1%"]
        for (i, label) in dpLabels.enumerated() {
            if i == 5 { lines.append(f("Median  Δp: %6.3f%%", pct(deltaPMedian))) }
            lines.append(f("%@   Δp: %6.3f%%", label, pct(deltaPPercentiles[i].value)))
        }
        lines.append(f("Minimum Δp: %6.3f%%", pct(deltaPMinimum)))
        lines.append(f("RMS Δp    : %6.3f ± %5.3f %%", pct(deltaPRMS.value), pct(deltaPRMS.uncertainty)))
        lines.append(f("Same top p: %6.3f ± %5.3f %%", pct(sameTop.value), pct(sameTop.uncertainty)))
        return lines
    }
}
