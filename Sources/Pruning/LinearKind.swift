/// The seven pruned linears of a LLaMA block (docs/algorithms.md §1.2), in the order the
/// references' `find_layers` visits them. HF names belong to the checkpoint format and are
/// spelled here as literals; the Model module keeps its own table, so Pruning stays independent.
public enum LinearKind: String, CaseIterable, Sendable, Codable {
    case q = "self_attn.q_proj"
    case k = "self_attn.k_proj"
    case v = "self_attn.v_proj"
    case o = "self_attn.o_proj"
    case gate = "mlp.gate_proj"
    case up = "mlp.up_proj"
    case down = "mlp.down_proj"

    /// `mlp.*` linears: skipped by DSnoT's default `--skip_layer mlp` (§9.4) and the targets
    /// of DaSS (§10).
    public var isMLP: Bool { rawValue.hasPrefix("mlp.") }

    /// The module path inside the checkpoint, e.g. `model.layers.3.mlp.down_proj`.
    public func modulePath(block: Int) -> String { "model.layers.\(block).\(rawValue)" }
}

/// One linear of one block; used to name the layer in errors and plans.
public struct LinearID: Hashable, Sendable, CustomStringConvertible {
    public var block: Int
    public var kind: LinearKind

    public init(block: Int, kind: LinearKind) {
        self.block = block
        self.kind = kind
    }

    public var description: String { kind.modulePath(block: block) }
}
