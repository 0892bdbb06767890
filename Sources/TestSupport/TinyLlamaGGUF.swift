import Foundation

/// A tiny, complete llama GGUF (v3, F32 tensors) that `owlprune convert` accepts: hidden 32,
/// 4 heads over 2 key/value heads, 64 intermediate, tied embeddings, and a byte-level vocabulary
/// of the 256 byte characters plus one merge. Metadata and tensors are plain arrays so a test can
/// break one thing (drop a tensor, change a shape, set a key) and check the message it gets.
/// Layout as in ggml `docs/gguf.md`: header, key/values, tensor infos, padding, data.
public struct TinyLlamaGGUF {
    public static let hidden = 32, intermediate = 64, heads = 4, kvHeads = 2, headDim = 8

    public var metadata: [(key: String, type: UInt32, payload: [UInt8])] = []
    /// `dims` as GGUF stores them, ne[0] first; `offset` nil means "next aligned position".
    public var tensors: [(name: String, dims: [UInt64], type: UInt32, data: [UInt8], offset: UInt64?)] = []
    public var alignment = 32

    public static func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    public static func u64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
    public static func string(_ s: String) -> [UInt8] { u64(UInt64(s.utf8.count)) + Array(s.utf8) }

    public init(blocks: Int = 2) {
        let (h, f, q, kv) = (UInt64(Self.hidden), UInt64(Self.intermediate), UInt64(Self.heads * Self.headDim),
                             UInt64(Self.kvHeads * Self.headDim))
        let tokens = Self.byteTokens() + ["ab"]
        set("general.architecture", string: "llama")
        set("llama.context_length", uint32: 256)
        set("llama.embedding_length", uint32: UInt32(h))
        set("llama.block_count", uint32: UInt32(blocks))
        set("llama.feed_forward_length", uint32: UInt32(f))
        set("llama.attention.head_count", uint32: UInt32(Self.heads))
        set("llama.attention.head_count_kv", uint32: UInt32(Self.kvHeads))
        set("llama.attention.layer_norm_rms_epsilon", float32: 1e-5)
        set("llama.rope.freq_base", float32: 10000)
        set("llama.vocab_size", uint32: UInt32(tokens.count))
        set("tokenizer.ggml.model", string: "gpt2")
        set("tokenizer.ggml.pre", string: "gpt2")
        set("tokenizer.ggml.tokens", strings: tokens)
        set("tokenizer.ggml.merges", strings: ["a b"])
        set("tokenizer.ggml.add_bos_token", type: 7, [0])
        var seed: UInt32 = 1
        func addF32(_ name: String, _ dims: [UInt64], norm: Bool = false) {
            let count = Int(dims.reduce(1, *))
            let values: [Float] = (0..<count).map { _ in
                seed = seed &* 1_664_525 &+ 1_013_904_223
                return norm ? 1 : (Float(seed >> 8) / Float(1 << 24) - 0.5) * 0.3
            }
            tensors.append((name, dims, 0, values.flatMap { Self.u32($0.bitPattern) }, nil))
        }
        addF32("token_embd.weight", [h, UInt64(tokens.count)])
        for b in 0..<blocks {
            let p = "blk.\(b)."
            addF32(p + "attn_q.weight", [h, q]); addF32(p + "attn_k.weight", [h, kv]); addF32(p + "attn_v.weight", [h, kv])
            addF32(p + "attn_output.weight", [q, h]); addF32(p + "ffn_gate.weight", [h, f]); addF32(p + "ffn_up.weight", [h, f])
            addF32(p + "ffn_down.weight", [f, h]); addF32(p + "attn_norm.weight", [h], norm: true)
            addF32(p + "ffn_norm.weight", [h], norm: true)
        }
        addF32("output_norm.weight", [h], norm: true)
    }

    /// GPT-2's `bytes_to_unicode` characters, in byte order.
    static func byteTokens() -> [String] { TinyCheckpoint.byteCharacters }

    public mutating func set(_ key: String, type: UInt32, _ payload: [UInt8]) {
        if let i = metadata.firstIndex(where: { $0.key == key }) { metadata[i] = (key, type, payload) } else { metadata.append((key, type, payload)) }
    }
    public mutating func set(_ key: String, uint32 v: UInt32) { set(key, type: 4, Self.u32(v)) }
    public mutating func set(_ key: String, float32 v: Float) { set(key, type: 6, Self.u32(v.bitPattern)) }
    public mutating func set(_ key: String, string v: String) { set(key, type: 8, Self.string(v)) }
    public mutating func set(_ key: String, strings: [String]) {
        set(key, type: 9, Self.u32(8) + Self.u64(UInt64(strings.count)) + strings.flatMap(Self.string))
    }
    public mutating func remove(key: String) { metadata.removeAll { $0.key == key } }
    public mutating func removeTensor(_ name: String) { tensors.removeAll { $0.name == name } }
    public mutating func setDims(_ name: String, _ dims: [UInt64]) {
        guard let i = tensors.firstIndex(where: { $0.name == name }) else { return }
        tensors[i].dims = dims
    }

    public func bytes() -> Data {
        var out = Array("GGUF".utf8) + Self.u32(3) + Self.u64(UInt64(tensors.count)) + Self.u64(UInt64(metadata.count))
        for kv in metadata { out += Self.string(kv.key) + Self.u32(kv.type) + kv.payload }
        var data: [UInt8] = []
        for t in tensors {
            let offset = t.offset ?? UInt64(data.count)
            out += Self.string(t.name) + Self.u32(UInt32(t.dims.count)) + t.dims.flatMap(Self.u64) + Self.u32(t.type) + Self.u64(offset)
            if t.offset == nil {
                data += t.data
                data += [UInt8](repeating: 0, count: (alignment - data.count % alignment) % alignment)
            }
        }
        out += [UInt8](repeating: 0, count: (alignment - out.count % alignment) % alignment)
        return Data(out + data)
    }

    @discardableResult
    public func write(to url: URL) throws -> URL {
        try bytes().write(to: url)
        return url
    }
}
