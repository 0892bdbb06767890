import ArgumentParser
import Pruning

/// Structured depth pruning (issue 12 item 6, docs/algorithms.md §17): `--remove-blocks K` with
/// `--method shortgpt|sleb` drops whole blocks only; with `--remove-by shortgpt|sleb` beside an
/// unstructured `--method`, the blocks are removed first (scored on the dense model) and the
/// remaining ones are then pruned as usual, calibrated on the reduced model.
struct DepthOptions: ParsableArguments {
    @Option(name: .customLong("remove-blocks"), help: "Remove K whole decoder blocks (with --method shortgpt|sleb, or --remove-by beside a pruning --method).")
    var removeBlocks: Int?

    @Option(name: .customLong("remove-by"), help: "shortgpt | sleb: how --remove-blocks picks the blocks when --method prunes the rest.")
    var removeBy: String?

    /// The depth method and K, or nil for a plain prune. `method` is the `--method` string.
    func removal(method: String) -> (BlockRemovalMethod, Int)? {
        guard let k = removeBlocks else { return nil }
        if let m = BlockRemovalMethod(rawValue: method) { return (m, k) }
        return removeBy.flatMap(BlockRemovalMethod.init(rawValue:)).map { ($0, k) }
    }

    /// Depth only: `--method` itself is shortgpt or sleb.
    static func isDepthMethod(_ method: String) -> Bool { BlockRemovalMethod(rawValue: method) != nil }

    func validate(method: String) throws {
        let depthMethod = Self.isDepthMethod(method)
        if let by = removeBy {
            guard BlockRemovalMethod(rawValue: by) != nil else { throw ValidationError("--remove-by \(by): expected shortgpt or sleb") }
            guard !depthMethod else { throw ValidationError("--remove-by \(by): --method \(method) already removes blocks; give one of them") }
            guard removeBlocks != nil else { throw ValidationError("--remove-by \(by) needs --remove-blocks K") }
        }
        if depthMethod && removeBlocks == nil { throw ValidationError("--method \(method) needs --remove-blocks K") }
        if let k = removeBlocks {
            guard k >= 1 else { throw ValidationError("--remove-blocks \(k): must be at least 1") }
            guard depthMethod || removeBy != nil else {
                throw ValidationError("--remove-blocks \(k) needs --method shortgpt|sleb, or --remove-by shortgpt|sleb beside a pruning --method")
            }
        }
    }
}
