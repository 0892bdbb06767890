import Checkpoint
import Model
import Tensor

/// `--remove-by streamline --replacement linear|layer` (issue 24): the reduced model with
/// streamline's block b replaced, seen as a checkpoint of its own. Every tensor of the replacement
/// block (`DecoderBlock.parameterNames`: the seven linears, both norms, biases, q/k norms) is read
/// from here, everything else from `base` (a `RenumberedSource`), so the statistics, the
/// propagation, the pruning and the shards of the prune all see the folded (`linear`: only its
/// down_proj differs) or trained (`layer`: every tensor) block.
///
/// Each tensor is held as the standalone `--method streamline` output stores it: rounded to its
/// input tensor's dtype (bf16/f16 round to nearest even, f32/f64 exact). So the combined run
/// prunes exactly the weights a prune of the standalone output would read, for any input dtype,
/// and writes the non-pruned tensors of block b with the bytes that output holds
/// (docs/algorithms.md "LLM-Streamline: with --remove-by").
public struct ReplacedBlockSource: WeightSource {
    public let base: any WeightSource
    /// Output tensor name → its values as stored (1×n for vectors, as `WeightSource` gives them).
    public let tensors: [String: Matrix]

    /// - Parameters:
    ///   - block: the replacement, its index the output block it stands at (b: every removed
    ///     block comes after it, so b is also its input index).
    ///   - input: the checkpoint whose dtypes the standalone output keeps.
    ///   - renumbering: output names → input names, for each tensor's stored dtype.
    public init(base: any WeightSource, block: DecoderBlock, input: CheckpointDirectory, renumbering: BlockRenumbering) throws {
        self.base = base
        tensors = try Self.storedTensors(of: block, input: input, renumbering: renumbering)
    }

    /// The block's tensors, each rounded through its input tensor's dtype.
    public static func storedTensors(of block: DecoderBlock, input: CheckpointDirectory,
                                     renumbering: BlockRenumbering) throws -> [String: Matrix] {
        var out: [String: Matrix] = [:]
        for (name, values) in zip(block.parameterNames, block.parameterTensors) {
            out[name] = Matrix(rows: 1, cols: values.count, elements: values)
        }
        for linear in BlockLinear.allCases { out[linear.weightName(block: block.index)] = block.weight(linear) }
        for (name, m) in out { out[name] = rounded(m, to: try input.info(renumbering.inputName(of: name)).dtype) }
        return out
    }

    /// `m` as a tensor of `dtype` holds it, read back as float32.
    static func rounded(_ m: Matrix, to dtype: SafetensorsDType) -> Matrix {
        switch dtype {
        case .bf16: Matrix(rows: m.rows, cols: m.cols, elements: m.elements.map { HalfPrecision.bf16ToFloat(HalfPrecision.floatToBF16($0)) })
        case .f16: Matrix(rows: m.rows, cols: m.cols, elements: m.elements.map { HalfPrecision.f16ToFloat(HalfPrecision.floatToF16($0)) })
        default: m
        }
    }

    public func matrix(_ name: String) throws -> Matrix { try tensors[name] ?? base.matrix(name) }
    public func contains(_ name: String) -> Bool { tensors[name] != nil || base.contains(name) }
    public func rows(_ name: String, _ indices: [Int]) throws -> Matrix {
        if let m = tensors[name] { return m.gatherRows(indices) }
        return try base.rows(name, indices)
    }
    public func storedShape(_ name: String) throws -> [Int]? { try base.storedShape(name) }
    public var listedTensorNames: [String]? { base.listedTensorNames }
}
