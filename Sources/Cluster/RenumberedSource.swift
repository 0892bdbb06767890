import Checkpoint
import Model
import Tensor

/// The depth-pruned model seen as a checkpoint of its own: block `j` is read from input block
/// `renumbering.kept[j]`, so every pass of a prune (statistics, propagation, pruning, the shards)
/// runs unchanged on the reduced model (`--remove-by` with `--method`).
public struct RenumberedSource: WeightSource {
    public let base: any WeightSource
    public let renumbering: BlockRenumbering

    public init(base: any WeightSource, renumbering: BlockRenumbering) {
        self.base = base
        self.renumbering = renumbering
    }

    public func matrix(_ name: String) throws -> Matrix { try base.matrix(renumbering.inputName(of: name)) }
    public func contains(_ name: String) -> Bool { base.contains(renumbering.inputName(of: name)) }
    public func rows(_ name: String, _ indices: [Int]) throws -> Matrix { try base.rows(renumbering.inputName(of: name), indices) }
    public func storedShape(_ name: String) throws -> [Int]? { try base.storedShape(renumbering.inputName(of: name)) }
}

extension Architecture {
    /// The architecture after depth pruning: fewer blocks, and the per-block sliding-window list
    /// (`layer_types`, `max_window_layers`) renumbered with the blocks, so each kept block keeps its
    /// attention kind.
    public func keeping(_ renumbering: BlockRenumbering) -> Architecture {
        var reduced = self
        reduced.blockCount = renumbering.kept.count
        reduced.shape.slidingBlocks = renumbering.kept.indices.filter { shape.slidingBlocks.contains(renumbering.kept[$0]) }
        return reduced
    }
}
