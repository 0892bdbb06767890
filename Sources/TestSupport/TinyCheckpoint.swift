import Checkpoint
import Foundation
import Tensor

/// A tiny random LLaMA checkpoint (real file formats, toy sizes) for integration tests that must
/// run in a second: hidden 32, 4 heads over 2 kv heads, 64 intermediate, a byte-level vocabulary
/// of the 256 bytes with no merges. Weights are SplitMix64 values scaled so activations stay O(1).
public enum TinyCheckpoint {
    public static let hidden = 32, intermediate = 64, heads = 4, kvHeads = 2, headDim = 8, vocabulary = 256

    public static func write(to dir: URL, blocks: Int, seed: UInt64 = 1, maxPositions: Int = 256) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var rng = TestRandom(seed: seed)
        var tensors: [(String, Matrix)] = [("model.embed_tokens.weight", rng.matrix(rows: vocabulary, cols: hidden))]
        for b in 0..<blocks {
            let p = "model.layers.\(b)."
            let shapes: [(String, Int, Int)] = [
                ("self_attn.q_proj", heads * headDim, hidden), ("self_attn.k_proj", kvHeads * headDim, hidden),
                ("self_attn.v_proj", kvHeads * headDim, hidden), ("self_attn.o_proj", hidden, heads * headDim),
                ("mlp.gate_proj", intermediate, hidden), ("mlp.up_proj", intermediate, hidden),
                ("mlp.down_proj", hidden, intermediate),
            ]
            for (name, r, c) in shapes {
                tensors.append((p + name + ".weight", rng.matrix(rows: r, cols: c, scale: 1 / Float(c).squareRoot())))
            }
            tensors.append((p + "input_layernorm.weight", Matrix(rows: 1, cols: hidden, repeating: 1)))
            tensors.append((p + "post_attention_layernorm.weight", Matrix(rows: 1, cols: hidden, repeating: 1)))
        }
        tensors.append(("model.norm.weight", Matrix(rows: 1, cols: hidden, repeating: 1)))
        let entries = tensors.map { name, m in
            SafetensorsWriter.Entry(name: name, dtype: .f32, shape: m.rows == 1 ? [m.cols] : [m.rows, m.cols])
        }
        let writer = try SafetensorsWriter(url: dir.appendingPathComponent("model.safetensors"), entries: entries)
        for (name, m) in tensors { try writer.write(name, m) }
        try writer.finish()
        try config(blocks: blocks, maxPositions: maxPositions).write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        try byteTokenizerJSON().write(to: dir.appendingPathComponent("tokenizer.json"), options: .atomic)
    }

    static func config(blocks: Int, maxPositions: Int) -> String {
        """
        {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
         "hidden_size": \(hidden), "intermediate_size": \(intermediate), "num_hidden_layers": \(blocks),
         "num_attention_heads": \(heads), "num_key_value_heads": \(kvHeads), "rms_norm_eps": 1e-05,
         "rope_theta": 10000.0, "max_position_embeddings": \(maxPositions), "vocab_size": \(vocabulary),
         "tie_word_embeddings": true, "torch_dtype": "float32"}
        """
    }

    /// GPT-2's byte-to-character table (`bytes_to_unicode`): printable bytes map to themselves,
    /// the rest to U+0100 onwards, so every byte is one vocabulary entry. Element b is byte b's.
    static let byteCharacters: [String] = {
        var printable = Array(33...126) + Array(161...172) + Array(174...255)
        var chars = printable
        var next = 0
        for b in 0..<256 where !printable.contains(b) {
            printable.append(b)
            chars.append(256 + next)
            next += 1
        }
        let byByte = Dictionary(uniqueKeysWithValues: zip(printable, chars))
        return (0..<256).map { String(Character(Unicode.Scalar(byByte[$0]!)!)) }
    }()

    static func byteTokenizerJSON() throws -> Data {
        var vocab: [String: Int] = [:]
        for (b, c) in byteCharacters.enumerated() { vocab[c] = b }
        let json: [String: Any] = [
            "version": "1.0", "added_tokens": [] as [Any], "normalizer": NSNull(),
            "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true],
            "post_processor": NSNull(),
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
            "model": ["type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                      "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false,
                      "vocab": vocab, "merges": [] as [Any]] as [String: Any],
        ]
        return try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
    }
}
