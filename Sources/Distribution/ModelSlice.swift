import Model
import Tensor

/// The part of a model one rank holds: its contiguous blocks, plus the embedding on the first
/// rank and the final norm and head on the last (docs/design.md §3 "Partition"). Only these tensors
/// are read from the checkpoint, so a rank's memory is its share of the model.
public struct ModelSlice: Sendable {
    public let architecture: Architecture
    public let blockRange: Range<Int>
    public var blocks: [DecoderBlock]
    public let embedding: Embedding?
    public let head: OutputHead?
    public let rope: RoPETable

    public static func load(from source: some WeightSource, architecture: Architecture, blocks range: Range<Int>,
                            withEmbedding: Bool, withHead: Bool, positions: Int) throws -> ModelSlice {
        let blocks = try range.map { try DecoderBlock.load(index: $0, shape: architecture.shape, from: source) }
        func table(_ name: String) throws -> Matrix {
            guard source.contains(name) else { throw ModelError.missingTensor(name) }
            let m = try source.matrix(name)
            guard m.rows == architecture.vocabularySize && m.cols == architecture.shape.hiddenSize else {
                throw ModelError.shapeMismatch(tensor: name, expected: [architecture.vocabularySize, architecture.shape.hiddenSize],
                                               found: [m.rows, m.cols])
            }
            return m
        }
        let embedding = withEmbedding ? Embedding(table: try table(ModelTensorName.embedding)) : nil
        var head: OutputHead? = nil
        if withHead {
            let norm = try source.matrix(ModelTensorName.finalNorm)
            guard norm.count == architecture.shape.hiddenSize else {
                throw ModelError.shapeMismatch(tensor: ModelTensorName.finalNorm, expected: [architecture.shape.hiddenSize],
                                               found: [norm.rows, norm.cols])
            }
            let weight = (withEmbedding && architecture.tiedEmbeddings) ? embedding!.table : try table(architecture.headWeightName)
            head = OutputHead(norm: norm.elements, weight: weight, epsilon: architecture.shape.rmsNormEpsilon)
        }
        return ModelSlice(architecture: architecture, blockRange: range, blocks: blocks, embedding: embedding,
                          head: head, rope: architecture.ropeTable(positions: positions))
    }

    /// Applies this rank's blocks in order.
    public func forward(_ h: Matrix, observe: ((Int, LinearInput, Matrix) -> Void)? = nil) -> Matrix {
        var x = h
        for block in blocks {
            x = block.forward(x, rope: rope, observe: observe.map { f in { input, m in f(block.index, input, m) } })
        }
        return x
    }
}
