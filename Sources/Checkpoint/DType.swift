import Foundation

/// The dtypes owlprune writes weights in (`prune --dtype`, `convert --dtype`, `synth --dtype`):
/// the one place their names are mapped, to safetensors' and to config.json's `torch_dtype`.
public enum DType: String, CaseIterable, Sendable, Codable {
    case f32, bf16, f16

    public init?(_ storage: SafetensorsDType) {
        switch storage {
        case .f32: self = .f32
        case .bf16: self = .bf16
        case .f16: self = .f16
        default: return nil
        }
    }

    public var storage: SafetensorsDType {
        switch self {
        case .f32: .f32
        case .bf16: .bf16
        case .f16: .f16
        }
    }

    /// transformers' name (`torch_dtype` / `dtype` in config.json).
    public var torchName: String {
        switch self {
        case .f32: "float32"
        case .bf16: "bfloat16"
        case .f16: "float16"
        }
    }
}
