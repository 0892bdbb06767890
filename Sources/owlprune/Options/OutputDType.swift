import ArgumentParser
import Checkpoint

/// `prune --dtype`: a real argument type, so `--help` and shell completions list the choices and
/// a bad value is refused by the parser with the argument's name and the choices.
enum OutputDType: String, CaseIterable, ExpressibleByArgument {
    case f32, bf16, f16

    var storage: SafetensorsDType {
        switch self {
        case .f32: .f32
        case .bf16: .bf16
        case .f16: .f16
        }
    }
}
