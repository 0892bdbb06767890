import Foundation
import Tensor

/// A GGUF file seen as a Hugging Face checkpoint: HF tensor names, HF layout, HF Q/K row order,
/// and the `ModelConfig` its metadata implies. It answers the same questions as
/// `CheckpointDirectory` (`matrix`, `contains`, `tensorNames`, `config`), so the model loader
/// and `owlprune convert` treat both sources alike.
public final class GGUFCheckpoint: Sendable {
    public let file: GGUFFile
    public let config: ModelConfig
    /// HF names of the tensors the file holds, sorted. With tied embeddings there is no
    /// `lm_head.weight`, exactly as in an HF checkpoint with `tie_word_embeddings: true`.
    public let tensorNames: [String]

    public convenience init(url: URL) throws {
        try self.init(file: GGUFFile(url: url))
    }

    /// Fails if the metadata does not describe a supported llama model, or if any tensor has no
    /// HF name (a GGUF carrying tensors owlprune would silently drop).
    public init(file: GGUFFile) throws {
        self.file = file
        config = try ModelConfig(gguf: file)
        var names: [String] = []
        for tensor in file.tensors {
            guard let hf = TensorName.hfName(fromGGUF: tensor.name) else {
                throw CheckpointError.ggufBadTensor(file: file.fileName, tensor: tensor.name, reason: "no Hugging Face name for this tensor")
            }
            names.append(hf)
        }
        tensorNames = names.sorted()
    }

    public func contains(_ hfName: String) -> Bool {
        TensorName.ggufName(fromHF: hfName).map(file.contains) ?? false
    }

    /// The tensor as float32, in HF layout and, for q_proj and k_proj, HF row order.
    public func matrix(_ hfName: String) throws -> Matrix {
        guard let name = TensorName.ggufName(fromHF: hfName), file.contains(name) else {
            throw CheckpointError.tensorNotFound(file: file.fileName, tensor: hfName)
        }
        let w = try file.dequantize(name)
        try FiniteWeights.check(w, file: file.fileName, tensor: name)
        guard let heads = TensorName.rotaryHeadCount(hfName: hfName, config: config) else { return w }
        guard w.rows == heads * config.headDim else {
            throw CheckpointError.ggufBadTensor(file: file.fileName, tensor: name,
                                                reason: "\(w.rows) rows, expected \(heads) heads × head_dim \(config.headDim)")
        }
        return TensorName.unpermuteQK(w, headCount: heads)
    }
}
