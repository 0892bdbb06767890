import Tensor

/// llama.cpp ↔ Hugging Face tensor names for LLaMA-family models: one table, read in both
/// directions (ggml-org/llama.cpp `gguf-py/gguf/tensor_mapping.py`, the `MODEL_TENSOR.*`
/// entries for `LlamaForCausalLM`; GGUF spellings from `constants.py` `TENSOR_NAMES`).
public enum TensorName {
    /// Model-level tensors: (GGUF name, HF name).
    static let global: [(gguf: String, hf: String)] = [
        ("token_embd.weight", "model.embed_tokens.weight"),
        ("output_norm.weight", "model.norm.weight"),
        ("output.weight", "lm_head.weight"),
    ]

    /// Per-block tensors: (suffix after `blk.N.`, suffix after `model.layers.N.`).
    static let block: [(gguf: String, hf: String)] = [
        ("attn_q.weight", "self_attn.q_proj.weight"),
        ("attn_k.weight", "self_attn.k_proj.weight"),
        ("attn_v.weight", "self_attn.v_proj.weight"),
        ("attn_output.weight", "self_attn.o_proj.weight"),
        ("ffn_gate.weight", "mlp.gate_proj.weight"),
        ("ffn_up.weight", "mlp.up_proj.weight"),
        ("ffn_down.weight", "mlp.down_proj.weight"),
        ("attn_norm.weight", "input_layernorm.weight"),
        ("ffn_norm.weight", "post_attention_layernorm.weight"),
        // Qwen2's q/k/v biases and Qwen3's per-head q/k norms (`tensor_mapping.py`
        // `ATTN_Q`/`ATTN_K`/`ATTN_V` with `.bias`, `ATTN_Q_NORM`, `ATTN_K_NORM`).
        ("attn_q.bias", "self_attn.q_proj.bias"),
        ("attn_k.bias", "self_attn.k_proj.bias"),
        ("attn_v.bias", "self_attn.v_proj.bias"),
        ("attn_q_norm.weight", "self_attn.q_norm.weight"),
        ("attn_k_norm.weight", "self_attn.k_norm.weight"),
    ]

    static let ggufBlockPrefix = "blk."
    static let hfBlockPrefix = "model.layers."

    /// The HF name of a llama.cpp tensor, or nil for tensors with no HF counterpart
    /// (e.g. `rope_freqs.weight`).
    public static func hfName(fromGGUF name: String) -> String? {
        if let pair = global.first(where: { $0.gguf == name }) { return pair.hf }
        guard let (blockIndex, suffix) = split(name, prefix: ggufBlockPrefix),
              let pair = block.first(where: { $0.gguf == suffix }) else { return nil }
        return "\(hfBlockPrefix)\(blockIndex).\(pair.hf)"
    }

    /// The llama.cpp name of an HF tensor, or nil when the table has none.
    public static func ggufName(fromHF name: String) -> String? {
        if let pair = global.first(where: { $0.hf == name }) { return pair.gguf }
        guard let (blockIndex, suffix) = split(name, prefix: hfBlockPrefix),
              let pair = block.first(where: { $0.hf == suffix }) else { return nil }
        return "\(ggufBlockPrefix)\(blockIndex).\(pair.gguf)"
    }

    /// `prefix` + decimal block index + "." + rest → (index, rest).
    private static func split(_ name: String, prefix: String) -> (Int, Substring)? {
        guard name.hasPrefix(prefix) else { return nil }
        let rest = name.dropFirst(prefix.count)
        guard let dot = rest.firstIndex(of: "."), let index = Int(rest[..<dot]), index >= 0,
              String(index) == rest[..<dot] else { return nil }
        return (index, rest[rest.index(after: dot)...])
    }

    // MARK: Q/K RoPE row order

    /// How many heads the llama.cpp converter permuted a tensor with: `num_attention_heads` for
    /// q_proj and `num_key_value_heads` for k_proj (`LlamaModel.modify_tensors` in
    /// `convert_hf_to_gguf.py` calls `permute(w, n_head, n_head)` and `permute(w, n_head, n_kv_head)`);
    /// nil for tensors that were not permuted. Only the `llama` GGUF architecture is permuted, which
    /// is what llama.cpp writes for Llama and Mistral checkpoints; its `qwen2` and `qwen3` models
    /// (`Qwen2Model`, `Qwen3Model`) keep HF row order and use NeoX-style RoPE instead.
    public static func rotaryHeadCount(hfName: String, config: ModelConfig) -> Int? {
        guard config.family == .llama || config.family == .mistral else { return nil }
        if hfName.hasSuffix(".self_attn.q_proj.weight") { return config.attentionHeadCount }
        if hfName.hasSuffix(".self_attn.k_proj.weight") { return config.keyValueHeadCount }
        return nil
    }

    /// llama.cpp's `permute(weights, n_head)` (`convert_hf_to_gguf.py`, `LlamaModel.permute`):
    /// `w.reshape(n_head, 2, rows/n_head/2, cols).swapaxes(1, 2).reshape(rows, cols)`. Within
    /// each head it interleaves the two halves of the rows: output row 2i+j is input row j·h+i,
    /// where h = head_dim/2. This turns HF's rotate-half RoPE pairing into llama.cpp's
    /// adjacent-pair one.
    public static func permuteQK(_ w: Matrix, headCount: Int) -> Matrix {
        reorderRows(w, headCount: headCount) { half, i, j in (2 * i + j, j * half + i) }
    }

    /// The inverse: `w.reshape(n_head, rows/n_head/2, 2, cols).swapaxes(1, 2).reshape(rows, cols)`,
    /// recovering HF row order from a GGUF Q or K weight.
    public static func unpermuteQK(_ w: Matrix, headCount: Int) -> Matrix {
        reorderRows(w, headCount: headCount) { half, i, j in (j * half + i, 2 * i + j) }
    }

    /// Copies row `source` of each head to row `destination`, for (destination, source) =
    /// `map(half, i, j)` over i < half, j < 2.
    private static func reorderRows(_ w: Matrix, headCount: Int,
                                    _ map: (Int, Int, Int) -> (destination: Int, source: Int)) -> Matrix {
        precondition(headCount > 0 && w.rows % (2 * headCount) == 0,
                     "TensorName: \(w.rows) rows do not split into \(headCount) heads of row pairs")
        let headRows = w.rows / headCount
        let half = headRows / 2
        var out = Matrix(rows: w.rows, cols: w.cols)
        for head in 0..<headCount {
            for i in 0..<half {
                for j in 0..<2 {
                    let (destination, source) = map(half, i, j)
                    let d = (head * headRows + destination) * w.cols
                    let s = (head * headRows + source) * w.cols
                    out.elements[d..<(d + w.cols)] = w.elements[s..<(s + w.cols)]
                }
            }
        }
        return out
    }
}
