import Tensor

/// The block's trainable tensors as one ordered list, the layout optimizer state and gradient
/// sums share: q, k, v, o, gate, up, down weights (row-major), input norm, post-attention norm,
/// then the biases of `shape.biasedLinears` in linear order, then the q and k norm weights.
extension DecoderBlock {
    /// Hugging Face names of the tensors, in list order.
    public var parameterNames: [String] {
        var names = BlockLinear.allCases.map { $0.weightName(block: index) }
        names += [ModelTensorName.inputNorm(block: index), ModelTensorName.postAttentionNorm(block: index)]
        names += BlockLinear.allCases.filter { biases[$0] != nil }.map { $0.biasName(block: index) }
        if queryNorm != nil && keyNorm != nil { names += [ModelTensorName.queryNorm(block: index), ModelTensorName.keyNorm(block: index)] }
        return names
    }

    /// The tensors' values, flattened, in `parameterNames` order.
    public var parameterTensors: [[Float]] {
        var out = BlockLinear.allCases.map { weight($0).elements }
        out += [inputNorm, postAttentionNorm]
        for linear in BlockLinear.allCases { if let b = biases[linear] { out.append(b) } }
        if let queryNorm, let keyNorm { out += [queryNorm, keyNorm] }
        return out
    }

    /// Writes back tensors in `parameterNames` order (after an optimizer step); shapes must match.
    public mutating func setParameterTensors(_ tensors: [[Float]]) {
        let current = parameterTensors
        precondition(tensors.count == current.count && zip(tensors, current).allSatisfy { $0.count == $1.count },
                     "block \(index): parameter list does not match the block's tensors")
        var i = 0
        for linear in BlockLinear.allCases {
            let w = weight(linear)
            weights[linear] = Matrix(rows: w.rows, cols: w.cols, elements: tensors[i])
            i += 1
        }
        inputNorm = tensors[i]
        postAttentionNorm = tensors[i + 1]
        i += 2
        for linear in BlockLinear.allCases where biases[linear] != nil {
            biases[linear] = tensors[i]
            i += 1
        }
        if queryNorm != nil && keyNorm != nil {
            queryNorm = tensors[i]
            keyNorm = tensors[i + 1]
        }
    }
}
