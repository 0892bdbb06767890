import ArgumentParser
import Pruning

extension BlockRemovalMethod: ExpressibleByArgument {}
extension StreamlineReplacement: ExpressibleByArgument {}

/// Structured depth pruning (issue 12 item 6, docs/algorithms.md §17): `--remove-blocks K` with
/// `--method shortgpt|sleb` drops whole blocks only; with `--remove-by shortgpt|sleb` beside an
/// unstructured `--method`, the blocks are removed first (scored on the dense model) and the
/// remaining ones are then pruned as usual, calibrated on the reduced model.
struct DepthOptions: ParsableArguments {
    @Option(name: .customLong("remove-blocks"), help: "Remove K whole decoder blocks (with --method shortgpt|sleb, or --remove-by beside a pruning --method).")
    var removeBlocks: Int?

    @Option(name: .customLong("remove-by"), help: "How --remove-blocks picks the blocks when --method prunes the rest.")
    var removeBy: BlockRemovalMethod?

    /// Issue 24: what stands in for streamline's run (docs/algorithms.md "LLM-Streamline: the
    /// command"). No default: the authors' default, a trained layer, is not available yet, and a
    /// silent substitute would not be what a user of `streamline` expects.
    @Option(help: "With streamline: what replaces the chosen run of K+1 blocks (none: its first block unchanged; linear: ReplaceMe's least-squares map folded into that block's down_proj).")
    var replacement: StreamlineReplacement?

    /// The depth method and K, or nil for a plain prune.
    func removal(method: MethodName) -> (BlockRemovalMethod, Int)? {
        guard let k = removeBlocks else { return nil }
        if let m = BlockRemovalMethod(rawValue: method.rawValue) { return (m, k) }
        return removeBy.map { ($0, k) }
    }

    /// Depth only: `--method` itself is shortgpt or sleb.
    static func isDepthMethod(_ method: MethodName) -> Bool { method.pruning == nil }

    /// A sweep grid's method word (sweep lists are plain strings).
    static func isDepthMethod(_ method: String) -> Bool { BlockRemovalMethod(rawValue: method) != nil }

    func validate(method: MethodName) throws {
        let depthMethod = Self.isDepthMethod(method)
        if let by = removeBy {
            guard !depthMethod else { throw ValidationError("--remove-by \(by): --method \(method) already removes blocks; give one of them") }
            guard removeBlocks != nil else { throw ValidationError("--remove-by \(by) needs --remove-blocks K") }
        }
        if depthMethod && removeBlocks == nil { throw ValidationError("--method \(method) needs --remove-blocks K") }
        let streamline = method == .streamline || removeBy == .streamline
        if let r = replacement, !streamline { throw ValidationError("--replacement \(r): only with --method streamline (or --remove-by streamline)") }
        if streamline && replacement == nil { throw ValidationError("streamline needs --replacement none|linear") }
        if removeBy == .streamline, let r = replacement, r != .none {
            throw ValidationError("--replacement \(r): not available with --remove-by streamline (only none: the remaining blocks are pruned from the checkpoint's weights)")
        }
        if let k = removeBlocks {
            guard k >= 1 else { throw ValidationError("--remove-blocks \(k): must be at least 1") }
            guard depthMethod || removeBy != nil else {
                throw ValidationError("--remove-blocks \(k) needs --method shortgpt|sleb|streamline, or --remove-by shortgpt|sleb|streamline beside a pruning --method")
            }
        }
    }
}
