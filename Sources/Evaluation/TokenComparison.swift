import Foundation

/// One scored position seen by two models over the same vocabulary: the base (dense) model B and
/// the other (pruned) model Q. The definitions are llama.cpp's `--kl-divergence`
/// (`tools/perplexity/perplexity.cpp`, `log_softmax(..., kl_divergence_result &)`):
/// KL(P_B ‖ P_Q) = Σᵢ P_B(i)·(ln P_B(i) − ln P_Q(i)), "same top" when the arg-max logits agree,
/// Δp = P_Q(correct) − P_B(correct). Two differences, both making the value exact rather than
/// approximate: llama.cpp stores the base log-probabilities as 16-bit codes and drops vocabulary
/// entries with ln P_B < −16; here both log-softmaxes are recomputed from the float32 logits in
/// float64 over the full vocabulary (docs/quality.md).
public struct TokenComparison: Sendable, Equatable {
    /// KL(P_B ‖ P_Q) in nats.
    public var kld: Double
    /// −ln P_B(correct) and −ln P_Q(correct).
    public var nllBase: Double
    public var nll: Double
    /// Both models' highest logit is at the same vocabulary index (the first one on ties, as
    /// llama.cpp's strict `>` scan picks).
    public var sameTop: Bool
    /// P_Q(correct) − P_B(correct).
    public var deltaP: Double

    public init(kld: Double, nllBase: Double, nll: Double, sameTop: Bool, deltaP: Double) {
        self.kld = kld
        self.nllBase = nllBase
        self.nll = nll
        self.sameTop = sameTop
        self.deltaP = deltaP
    }

    /// Compares one row of logits of each model; `target` is the token that follows.
    public static func compare(base: ArraySlice<Float>, other: ArraySlice<Float>, target: Int) -> TokenComparison {
        precondition(base.count == other.count && !base.isEmpty, "TokenComparison: \(base.count) vs \(other.count) logits")
        let b = LogSoftmax(base), q = LogSoftmax(other)
        let b0 = base.startIndex, q0 = other.startIndex
        // Σ p_B·(ln p_B − ln p_Q) in index order; identical rows give exactly 0 term by term.
        var kld = 0.0
        for i in 0..<base.count {
            let lb = Double(base[b0 + i]) - b.logSumExp
            let lq = Double(other[q0 + i]) - q.logSumExp
            kld += Foundation.exp(lb) * (lb - lq)
        }
        let nllBase = b.logSumExp - Double(base[b0 + target])
        let nll = q.logSumExp - Double(other[q0 + target])
        return TokenComparison(kld: kld, nllBase: nllBase, nll: nll, sameTop: b.argmax == q.argmax,
                               deltaP: Foundation.exp(-nll) - Foundation.exp(-nllBase))
    }
}

/// ln Σ exp(xᵢ) of a float32 row, computed stably in float64 (max subtracted before `exp`), and
/// the index of the first maximum.
struct LogSoftmax {
    let logSumExp: Double
    let argmax: Int

    init(_ row: ArraySlice<Float>) {
        var m = row[row.startIndex], im = 0
        for i in 1..<row.count where row[row.startIndex + i] > m {
            m = row[row.startIndex + i]
            im = i
        }
        let shift = Double(m)
        var sum = 0.0
        for x in row { sum += Foundation.exp(Double(x) - shift) }
        logSumExp = shift + Foundation.log(sum)
        argmax = im
    }
}
