import Diagnostics
import Foundation

/// Every failure of the Tokenizer module. Messages are one line and name the file, JSON field,
/// token or GGUF key involved, so the CLI can print them unchanged.
public enum TokenizerError: Error, LocalizedError, Equatable {
    case invalidJSON(file: String, reason: String)
    case missingField(file: String, field: String)
    case invalidField(file: String, field: String, reason: String)
    case unsupportedComponent(file: String, field: String, type: String)
    case badMerge(file: String, index: Int, merge: String, reason: String)
    case unknownSpecialToken(file: String, field: String, token: String)
    case invalidUTF8(file: String, byteOffset: Int)
    case unreadableFile(file: String, reason: String)
    case unsupportedGGUFModel(model: String)
    case unknownPreTokenizer(pre: String)
    case missingGGUFKey(key: String, reason: String)
    case invalidGGUFVocabulary(reason: String)

    /// One printable line: tokens and field names from the file are escaped (`printableLine`).
    public var errorDescription: String? { printableLine(text) }

    private var text: String {
        switch self {
        case let .invalidJSON(f, reason): "\(f): not valid JSON: \(reason)"
        case let .missingField(f, field): "\(f): missing field '\(field)'"
        case let .invalidField(f, field, reason): "\(f): field '\(field)': \(reason)"
        case let .unsupportedComponent(f, field, type): "\(f): \(field) of type '\(type)' is not supported"
        case let .badMerge(f, i, merge, reason): "\(f): model.merges[\(i)] '\(merge)': \(reason)"
        case let .unknownSpecialToken(f, field, token): "\(f): \(field) '\(token)' is not in the vocabulary"
        case let .invalidUTF8(f, offset): "\(f): invalid UTF-8 at byte offset \(offset)"
        case let .unreadableFile(f, reason): "\(f): cannot read: \(reason)"
        case let .unsupportedGGUFModel(m): "tokenizer.ggml.model '\(m)' is not supported (expected 'gpt2' or 'llama')"
        case let .unknownPreTokenizer(p):
            "tokenizer.ggml.pre '\(p)' is not supported (known: smollm, gpt2, default, llama-bpe, llama3, qwen2, deepseek-r1-qwen)"
        case let .missingGGUFKey(key, reason): "GGUF key '\(key)' is missing: \(reason)"
        case let .invalidGGUFVocabulary(reason): "GGUF tokenizer vocabulary: \(reason)"
        }
    }
}
