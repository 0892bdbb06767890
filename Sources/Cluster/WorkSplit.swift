/// How ranks share the work of a prune (docs/design.md §3 "Two ways to split the work"; `--split`).
public enum WorkSplit: String, Sendable, Codable, CaseIterable {
    /// Every rank works on the current block, each on its own contiguous share of the calibration
    /// windows. Time and activation memory shrink with the ranks in both propagation modes.
    case windows
    /// Each rank owns contiguous blocks and windows stream rank to rank. In sequential
    /// propagation the ranks take turns, so time does not shrink; in dense they all prune at once.
    case blocks

    /// windows for sequential propagation (the only way it gets faster with ranks), blocks for
    /// dense (already parallel, and one pass over the windows instead of two for OWL).
    public static func defaultSplit(for propagation: Propagation) -> WorkSplit {
        propagation == .sequential ? .windows : .blocks
    }
}

/// How a block's weights reach every rank in the windows split (`OWLPRUNE_BLOCK_WEIGHTS`).
enum BlockWeightTransport: String {
    /// Every rank reads and converts the block from the (shared) checkpoint itself.
    case read
    /// The block's owner reads it and broadcasts the float32 weights.
    case broadcast
}
