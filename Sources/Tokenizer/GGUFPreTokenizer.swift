/// Which `tokenizer.ggml.pre` a Hugging Face tokenizer gets in a GGUF, decided as llama.cpp's
/// `convert_hf_to_gguf.py` (`get_vocab_base_pre`) decides it: encode a fixed check text, take
/// the SHA-256 of Python's `str()` of the id list (`"[1, 2, 3]"`), and look the digest up.
/// The check text and the digests are llama.cpp's; only families owlprune runs are listed.
/// An unknown digest is nil, and the caller refuses rather than guess, as llama.cpp does.
public enum GGUFPreTokenizer {
    /// `chktxt` of `get_vocab_base_pre`, character for character (U+200D and U+FE0F escaped).
    static let checkText = "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n🚀 (normal) 😶\u{200D}🌫\u{FE0F} (multiple emojis concatenated) ✅ 🦙🦙 3 33 333 3333 33333 333333 3333333 33333333 3.3 3..3 3...3 កាន់តែពិសេសអាច😁 ?我想在apple工作1314151天～ ------======= нещо на Български ''''''```````\"\"\"\"......!!!!!!?????? I've been 'told he's there, 'RE you sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL"

    /// Digest → name, from the same function (each `if chkhsh == …: res = …` entry).
    static let known: [String: String] = [
        "855059429035d75a914d1eda9f10a876752e281a054a7a3d421ef0533e5b6249": "smollm",        // HuggingFaceTB/SmolLM-135M
        "0ef9807a4087ebef797fc749390439009c3b9eda9ad1a097abbe738f486c01e5": "llama-bpe",     // meta-llama/Meta-Llama-3-8B
        "3ce83efda5659b07b1ad37ca97ca5797ea4285d9b9ab0dc679e4a720c9da7454": "gpt-2",         // openai-community/gpt2
        "e636dc30a262dcc0d8c323492e32ae2b70728f4df7dfe9737d9f920a282b8aea": "qwen2",         // Qwen/Qwen1.5-7B
        "63b97e4253352e6f357cc59ea5b583e3a680eaeaf2632188c2b952de2588485e": "tekken",        // mistralai/Mistral-Nemo-Base-2407
    ]

    /// The digest llama.cpp would compute for this tokenizer.
    public static func checkDigest(_ tokenizer: Tokenizer) -> String {
        let ids = tokenizer.encode(checkText)
        return SHA256.hexDigest(Array(("[" + ids.map(String.init).joined(separator: ", ") + "]").utf8))
    }

    /// The `tokenizer.ggml.pre` name, or nil when llama.cpp's table (as listed here) has none.
    public static func name(of tokenizer: Tokenizer) -> String? { known[checkDigest(tokenizer)] }
}
