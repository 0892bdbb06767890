import Tensor

/// Where block weights come from: a checkpoint directory, a GGUF file, or a test fixture. Model
/// asks only for the tensors of the blocks it builds, so a rank reads only its own share.
public protocol WeightSource {
    /// The tensor as float32 in Hugging Face layout (rows = output features); vectors as 1×n.
    func matrix(_ name: String) throws -> Matrix
    func contains(_ name: String) -> Bool
    /// Rows `indices` of a 2-D tensor, for embedding lookups that need not convert the whole table.
    func rows(_ name: String, _ indices: [Int]) throws -> Matrix
    /// The tensor's shape as stored, when the source knows it; nil skips the rank check.
    func storedShape(_ name: String) throws -> [Int]?
    /// Every tensor name the source holds, when it can list them (nil: it cannot, and the
    /// check for blocks past `num_hidden_layers` is skipped).
    var listedTensorNames: [String]? { get }
}

extension WeightSource {
    public func rows(_ name: String, _ indices: [Int]) throws -> Matrix { try matrix(name).gatherRows(indices) }

    public func storedShape(_ name: String) throws -> [Int]? { nil }

    public var listedTensorNames: [String]? { nil }
}
