/// GGUF metadata keys owlprune reads, spelled once (ggml-org/llama.cpp
/// `gguf-py/gguf/constants.py`, class `Keys`). Architecture keys take the `general.architecture`
/// value as prefix, as `Keys.LLM.BLOCK_COUNT = "{arch}.block_count"` does.
public enum GGUFKey {
    public static let architecture = "general.architecture"
    public static let name = "general.name"
    public static let alignment = "general.alignment"
    public static let fileType = "general.file_type"

    public static func contextLength(_ arch: String) -> String { "\(arch).context_length" }
    public static func embeddingLength(_ arch: String) -> String { "\(arch).embedding_length" }
    public static func blockCount(_ arch: String) -> String { "\(arch).block_count" }
    public static func feedForwardLength(_ arch: String) -> String { "\(arch).feed_forward_length" }
    public static func vocabSize(_ arch: String) -> String { "\(arch).vocab_size" }
    public static func headCount(_ arch: String) -> String { "\(arch).attention.head_count" }
    public static func headCountKV(_ arch: String) -> String { "\(arch).attention.head_count_kv" }
    public static func keyLength(_ arch: String) -> String { "\(arch).attention.key_length" }
    public static func rmsNormEpsilon(_ arch: String) -> String { "\(arch).attention.layer_norm_rms_epsilon" }
    public static func ropeDimensionCount(_ arch: String) -> String { "\(arch).rope.dimension_count" }
    public static func ropeFreqBase(_ arch: String) -> String { "\(arch).rope.freq_base" }
    public static func ropeScalingType(_ arch: String) -> String { "\(arch).rope.scaling.type" }

    public static let tokenizerModel = "tokenizer.ggml.model"
    public static let tokenizerPre = "tokenizer.ggml.pre"
    public static let tokens = "tokenizer.ggml.tokens"
    public static let tokenTypes = "tokenizer.ggml.token_type"
    public static let scores = "tokenizer.ggml.scores"
    public static let merges = "tokenizer.ggml.merges"
    public static let bosTokenId = "tokenizer.ggml.bos_token_id"
    public static let eosTokenId = "tokenizer.ggml.eos_token_id"
    public static let unknownTokenId = "tokenizer.ggml.unknown_token_id"
    public static let paddingTokenId = "tokenizer.ggml.padding_token_id"
    public static let addBosToken = "tokenizer.ggml.add_bos_token"
    public static let addEosToken = "tokenizer.ggml.add_eos_token"
    public static let chatTemplate = "tokenizer.chat_template"
}
