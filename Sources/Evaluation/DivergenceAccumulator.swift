import Foundation

/// Running sums of `TokenComparison`s in scoring order (window by window, token by token), as
/// llama.cpp's `kl_divergence_result` keeps them, plus every per-token KLD and Δp for the
/// percentiles. The sums are float64 and added in one fixed order on one rank, so the result is
/// the same bits for any rank or thread count.
public struct DivergenceAccumulator: Sendable {
    public private(set) var count = 0
    var sumNLL = 0.0, sumNLL2 = 0.0
    var sumNLLBase = 0.0, sumNLLBase2 = 0.0, sumNLLNLLBase = 0.0
    var sumKLD = 0.0, sumKLD2 = 0.0
    var sumDeltaP = 0.0, sumDeltaP2 = 0.0, sumDeltaP4 = 0.0
    var sameTop = 0
    var kldValues: [Double] = []
    var deltaPValues: [Double] = []

    public init() {}

    public mutating func add(_ t: TokenComparison) {
        count += 1
        sumNLL += t.nll
        sumNLL2 += t.nll * t.nll
        sumNLLBase += t.nllBase
        sumNLLBase2 += t.nllBase * t.nllBase
        sumNLLNLLBase += t.nll * t.nllBase
        sumKLD += t.kld
        sumKLD2 += t.kld * t.kld
        sumDeltaP += t.deltaP
        let d2 = t.deltaP * t.deltaP
        sumDeltaP2 += d2
        sumDeltaP4 += d2 * d2
        if t.sameTop { sameTop += 1 }
        kldValues.append(t.kld)
        deltaPValues.append(t.deltaP)
    }

    /// llama.cpp's `mean_and_uncertainty`: the mean and √(var/(n−1)), the uncertainty 0 for n ≤ 10
    /// or a non-positive variance.
    static func meanAndUncertainty(_ sum: Double, _ sum2: Double, _ n: Int) -> Estimate {
        guard n >= 1 else { return Estimate(value: 0, uncertainty: 0) }
        let f = sum / Double(n)
        let v = sum2 / Double(n) - f * f
        return Estimate(value: f, uncertainty: v > 0 && n > 10 ? (v / Double(n - 1)).squareRoot() : 0)
    }

    /// llama.cpp's `covariance` of the two mean log-likelihoods (0 below 10 tokens).
    static func covariance(_ a: Double, _ b: Double, _ ab: Double, _ n: Int) -> Double {
        guard n >= 10 else { return 0 }
        let c = Double(n)
        return (ab / c - (a / c) * (b / c)) / (c - 1)
    }

    /// llama.cpp's `percentile`: linear interpolation at `fraction·(n−1)` of the sorted values.
    static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        if fraction <= 0 { return sorted[0] }
        if fraction >= 1 { return sorted[sorted.count - 1] }
        var p = fraction * Double(sorted.count - 1)
        let ip = Int(p)
        p -= Double(ip)
        return (1 - p) * sorted[ip] + p * sorted[min(ip + 1, sorted.count - 1)]
    }

    static func median(_ sorted: [Double]) -> Double {
        let n = sorted.count
        return n % 2 == 0 ? 0.5 * (sorted[n / 2] + sorted[n / 2 - 1]) : sorted[n / 2]
    }

    /// The statistics llama-perplexity prints after `--kl-divergence`, in its order.
    public func result() -> DivergenceStatistics? {
        guard count >= 2 else { return nil }
        let n = count
        let logPPL = Self.meanAndUncertainty(sumNLL, sumNLL2, n)
        let logPPLBase = Self.meanAndUncertainty(sumNLLBase, sumNLLBase2, n)
        let cov = Self.covariance(sumNLL, sumNLLBase, sumNLLNLLBase, n)
        let ppl = Foundation.exp(logPPL.value), pplBase = Foundation.exp(logPPLBase.value)
        let pplUnc = ppl * logPPL.uncertainty, pplBaseUnc = pplBase * logPPLBase.uncertainty
        // Where llama.cpp would print nan or take the root of a rounding-negative value (identical
        // models, n ≤ 10), 0: JSON has no nan, and 0 is the limit the formula approaches.
        let ratioUnc = max(0, logPPL.uncertainty * logPPL.uncertainty + logPPLBase.uncertainty * logPPLBase.uncertainty - 2 * cov)
            .squareRoot()
        let sigmas = logPPL.uncertainty * logPPLBase.uncertainty
        let ratio = logPPL.value - logPPLBase.value
        let pplCov = ppl * pplBase * cov
        let kld = kldValues.sorted(), dp = deltaPValues.sorted()
        let mse = Self.meanAndUncertainty(sumDeltaP2, sumDeltaP4, n)
        let rms = mse.value.squareRoot()
        let top = Double(sameTop) / Double(n)
        let kldPercentiles = DivergenceStatistics.kldFractions.map { Percentile(fraction: $0, value: Self.percentile(kld, $0)) }
        let dpPercentiles = DivergenceStatistics.deltaPFractions.map { Percentile(fraction: $0, value: Self.percentile(dp, $0)) }
        return DivergenceStatistics(
            tokens: n,
            perplexity: Estimate(value: ppl, uncertainty: pplUnc),
            perplexityBase: Estimate(value: pplBase, uncertainty: pplBaseUnc),
            logPerplexityCorrelation: sigmas > 0 ? cov / sigmas : 0,
            logPerplexityRatio: Estimate(value: ratio, uncertainty: ratioUnc),
            perplexityRatio: Estimate(value: Foundation.exp(ratio), uncertainty: Foundation.exp(ratio) * ratioUnc),
            perplexityDifference: Estimate(value: ppl - pplBase,
                                           uncertainty: max(0, pplUnc * pplUnc + pplBaseUnc * pplBaseUnc - 2 * pplCov).squareRoot()),
            kld: Self.meanAndUncertainty(sumKLD, sumKLD2, n),
            kldMaximum: kld[n - 1], kldMedian: Self.median(kld), kldMinimum: kld[0],
            kldPercentiles: kldPercentiles,
            deltaP: Self.meanAndUncertainty(sumDeltaP, sumDeltaP2, n),
            deltaPMaximum: dp[n - 1], deltaPMedian: Self.median(dp), deltaPMinimum: dp[0],
            deltaPPercentiles: dpPercentiles,
            deltaPRMS: Estimate(value: rms, uncertainty: rms > 0 ? 0.5 / rms * mse.uncertainty : 0),
            sameTop: Estimate(value: top, uncertainty: (top * (1 - top) / Double(n - 1)).squareRoot()))
    }
}
