import Checkpoint
import Foundation

/// Inverse frequencies θ_i = 1 / base^(2i/d) as transformers' `_compute_default_rope_parameters`
/// computes them (exponent formed in float32), optionally rescaled as its
/// `_compute_llama3_parameters` does: long wavelengths divided by `factor`, short ones kept, and a
/// linear blend in between.
public func rotaryInverseFrequencies(headDim: Int, base: Double, llama3: RopeScaling? = nil) -> [Float] {
    let half = headDim / 2
    var inv = (0..<half).map { i -> Float in
        let exponent = Float(2 * i) / Float(headDim)
        return 1 / Float(pow(base, Double(exponent)))
    }
    guard let s = llama3 else { return inv }
    let context = Double(s.originalMaxPositionEmbeddings)
    let lowWavelength = context / s.lowFrequencyFactor
    let highWavelength = context / s.highFrequencyFactor
    for i in 0..<half {
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
