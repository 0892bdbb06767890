import Foundation

/// Llama-3 "llama3" RoPE scaling parameters (config.json `rope_scaling`).
public struct Llama3RopeScaling: Sendable, Equatable {
    public var factor: Double
    public var lowFrequencyFactor: Double
    public var highFrequencyFactor: Double
    public var originalContextLength: Double

    public init(factor: Double, lowFrequencyFactor: Double, highFrequencyFactor: Double, originalContextLength: Double) {
        self.factor = factor
        self.lowFrequencyFactor = lowFrequencyFactor
        self.highFrequencyFactor = highFrequencyFactor
        self.originalContextLength = originalContextLength
    }
}

/// Inverse frequencies θ_i = 1 / base^(2i/d) as transformers' `_compute_default_rope_parameters`
/// computes them (exponent formed in float32), optionally rescaled as its
/// `_compute_llama3_parameters` does: long wavelengths divided by `factor`, short ones kept, and a
/// linear blend in between.
public func rotaryInverseFrequencies(headDim: Int, base: Double, llama3: Llama3RopeScaling? = nil) -> [Float] {
    let half = headDim / 2
    var inv = (0..<half).map { i -> Float in
        let exponent = Float(2 * i) / Float(headDim)
        return 1 / Float(pow(base, Double(exponent)))
    }
    guard let s = llama3 else { return inv }
    let lowWavelength = s.originalContextLength / s.lowFrequencyFactor
    let highWavelength = s.originalContextLength / s.highFrequencyFactor
    for i in 0..<half {
        let f = Double(inv[i])
        let wavelength = 2 * Double.pi / f
        if wavelength > lowWavelength {
            inv[i] = Float(f / s.factor)
        } else if wavelength >= highWavelength {
            let smooth = (s.originalContextLength / wavelength - s.lowFrequencyFactor)
                / (s.highFrequencyFactor - s.lowFrequencyFactor)
            inv[i] = Float((1 - smooth) * f / s.factor + smooth * f)
        }
    }
    return inv
}
