import Checkpoint
import Foundation

/// Inverse frequencies and the cos/sin scale of every RoPE variant owlprune runs, computed as
/// transformers' `ROPE_INIT_FUNCTIONS` compute them (`modeling_rope_utils.py`, 5.24): float32
/// where torch works in float32 (the exponents, the ramps, the final blend), double where the
/// Python code works on Python floats (YaRN's correction range, dynamic NTK's new base).
///
/// - Parameters:
///   - sequenceLength: the window length. Only dynamic NTK depends on it: transformers grows
///     the base once a forward pass is longer than `max_position_embeddings`
///     (`dynamic_rope_update`); at or below that it is the default RoPE.
/// - Returns: the inverse frequencies and `attention_scaling`, the factor transformers
///   multiplies cos and sin by (1 except for YaRN).
public func rotaryParameters(headDim: Int, base: Double, scaling: RopeScaling?, maxPositions: Int,
                             sequenceLength: Int) -> (inverseFrequencies: [Float], attentionScaling: Float) {
    switch scaling {
    case nil:
        return (defaultInverseFrequencies(headDim: headDim, base: base), 1)
    case let .linear(factor):
        let f = Float(factor)
        return (defaultInverseFrequencies(headDim: headDim, base: base).map { $0 / f }, 1)
    case let .dynamic(factor):
        let seq = Double(max(sequenceLength, maxPositions)), d = Double(headDim)
        let grown = base * pow(factor * seq / Double(maxPositions) - (factor - 1), d / (d - 2))
        return (defaultInverseFrequencies(headDim: headDim, base: grown), 1)
    case let .llama3(s):
        return (llama3InverseFrequencies(headDim: headDim, base: base, s), 1)
    case let .yarn(s):
        return yarnParameters(headDim: headDim, base: base, s)
    }
}

/// θ_i = 1 / base^(2i/d) (`_compute_default_rope_parameters`; exponent formed in float32).
func defaultInverseFrequencies(headDim: Int, base: Double) -> [Float] {
    (0..<headDim / 2).map { i -> Float in
        let exponent = Float(2 * i) / Float(headDim)
        return 1 / Float(pow(base, Double(exponent)))
    }
}

/// `_compute_llama3_parameters`: long wavelengths divided by `factor`, short ones kept, and a
/// linear blend in between.
func llama3InverseFrequencies(headDim: Int, base: Double, _ s: Llama3RopeScaling) -> [Float] {
    var inv = defaultInverseFrequencies(headDim: headDim, base: base)
    let context = Double(s.originalMaxPositionEmbeddings)
    let lowWavelength = context / s.lowFrequencyFactor
    let highWavelength = context / s.highFrequencyFactor
    for i in inv.indices {
        let f = Double(inv[i])
        let wavelength = 2 * Double.pi / f
        if wavelength > lowWavelength {
            inv[i] = Float(f / s.factor)
        } else if wavelength >= highWavelength {
            let smooth = (context / wavelength - s.lowFrequencyFactor)
                / (s.highFrequencyFactor - s.lowFrequencyFactor)
            inv[i] = Float((1 - smooth) * f / s.factor + smooth * f)
        }
    }
    return inv
}

/// `_compute_yarn_parameters`: interpolated frequencies below the correction range,
/// extrapolated above it, a float32 linear ramp between, and the mscale attention factor.
func yarnParameters(headDim: Int, base: Double, _ s: YarnRopeScaling) -> ([Float], Float) {
    func mscale(_ scale: Double, _ m: Double = 1) -> Double { scale <= 1 ? 1 : 0.1 * m * log(scale) + 1 }
    let attention: Double
    if let a = s.attentionFactor {
        attention = a
    } else if let m = s.mscale, let all = s.mscaleAllDim, m != 0, all != 0 {
        attention = mscale(s.factor, m) / mscale(s.factor, all)
    } else {
        attention = mscale(s.factor)
    }
    // `beta_fast or 32`: Python's `or` also replaces 0.
    let betaFast = s.betaFast.flatMap { $0 == 0 ? nil : $0 } ?? 32
    let betaSlow = s.betaSlow.flatMap { $0 == 0 ? nil : $0 } ?? 1
    let dim = Double(headDim), context = Double(s.originalMaxPositionEmbeddings)
    func correctionDim(_ rotations: Double) -> Double {
        dim * log(context / (rotations * 2 * Double.pi)) / (2 * log(base))
    }
    var low = correctionDim(betaFast), high = correctionDim(betaSlow)
    if s.truncate { low = low.rounded(.down); high = high.rounded(.up) }
    low = max(low, 0)
    high = min(high, dim - 1)
    if low == high { high += 0.001 }
    let half = headDim / 2
    let factor = Float(s.factor)
    var inv = [Float](repeating: 0, count: half)
    for i in 0..<half {
        let exponent = Float(2 * i) / Float(headDim)
        let position = Float(pow(base, Double(exponent)))
        let extrapolation = 1 / position
        let interpolation = 1 / (factor * position)
        let ramp = min(max((Float(i) - Float(low)) / Float(high - low), 0), 1)
        let keep = 1 - ramp
        inv[i] = interpolation * (1 - keep) + extrapolation * keep
    }
    return (inv, Float(attention))
}
