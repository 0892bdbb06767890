import Diagnostics
import Foundation

/// The part of a LLaMA-family `config.json` owlprune reads and writes (transformers
/// `LlamaConfig`, `MistralConfig`, `Qwen2Config`, `Qwen3Config`), in either generation's layout:
/// transformers 4 (`rope_theta` and `rope_scaling` at the top level, `torch_dtype`) or
/// transformers 5 (`rope_parameters`, `dtype`). Decoding (`ModelConfig+Codable.swift`) fills the
/// defaults those classes fill and refuses, naming the key, whatever would change the forward
/// pass without owlprune computing it (`ConfigKeys.swift`). Each property names its JSON key.
public struct ModelConfig: Sendable, Equatable {
    /// `model_type`, required (transformers' `AutoConfig` needs it too).
    public var family: ModelFamily
    /// `architectures`; the family's causal-LM class when absent.
    public var architectures: [String]
    public var modelType: String { family.rawValue }
    /// `hidden_size`
    public var hiddenSize: Int
    /// `intermediate_size`
    public var intermediateSize: Int
    /// `num_hidden_layers`
    public var layerCount: Int
    /// `num_attention_heads`
    public var attentionHeadCount: Int
    /// `num_key_value_heads`; defaults to `num_attention_heads`.
    public var keyValueHeadCount: Int
    /// `head_dim`; defaults to `hidden_size / num_attention_heads`.
    public var headDim: Int
    /// `rms_norm_eps`
    public var rmsNormEpsilon: Double
    /// `rope_parameters.rope_theta` (transformers 5) or `rope_theta` (4); defaults to 10000.
    public var ropeTheta: Double
    /// `rope_parameters` (5) or `rope_scaling` (4); nil for `rope_type: "default"` or none given.
    public var ropeScaling: RopeScaling?
    /// The window of sliding-window attention (`sliding_window`), nil when no block uses one.
    public var slidingWindow: Int?
    /// The blocks that use it, ascending (Mistral: all; Qwen2/3: `layer_types` entries
    /// `"sliding_attention"`). Empty when `slidingWindow` is nil.
    public var slidingBlocks: [Int]
    /// `max_position_embeddings`
    public var maxPositionEmbeddings: Int
    /// `vocab_size`
    public var vocabSize: Int
    /// `tie_word_embeddings`; defaults to false. When true there is no `lm_head.weight` and the
    /// head reuses `model.embed_tokens.weight`.
    public var tieWordEmbeddings: Bool
    /// `bos_token_id`, a number or a list; nil when absent or null.
    public var bosTokenIds: [Int]?
    /// `eos_token_id`, a number or a list; nil when absent or null.
    public var eosTokenIds: [Int]?
    /// `torch_dtype` ("bfloat16", "float16", "float32"), when given.
    public var torchDtype: String?
    /// `hidden_act`; only "silu" is accepted (SwiGLU).
    public var hiddenAct: String

    public init(family: ModelFamily = .llama, architectures: [String]? = nil,
                hiddenSize: Int, intermediateSize: Int, layerCount: Int,
                attentionHeadCount: Int, keyValueHeadCount: Int, headDim: Int,
                rmsNormEpsilon: Double, ropeTheta: Double = 10000, ropeScaling: RopeScaling? = nil,
                slidingWindow: Int? = nil, slidingBlocks: [Int] = [],
                maxPositionEmbeddings: Int, vocabSize: Int, tieWordEmbeddings: Bool = false,
                bosTokenIds: [Int]? = nil, eosTokenIds: [Int]? = nil, torchDtype: String? = nil,
                hiddenAct: String = "silu") {
        self.family = family
        self.architectures = architectures ?? [family.causalLMClass]
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.attentionHeadCount = attentionHeadCount
        self.keyValueHeadCount = keyValueHeadCount
        self.headDim = headDim
        self.rmsNormEpsilon = rmsNormEpsilon
        self.ropeTheta = ropeTheta
        self.ropeScaling = ropeScaling
        self.slidingWindow = slidingWindow
        self.slidingBlocks = slidingWindow == nil ? [] : slidingBlocks
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.vocabSize = vocabSize
        self.tieWordEmbeddings = tieWordEmbeddings
        self.bosTokenIds = bosTokenIds
        self.eosTokenIds = eosTokenIds
        self.torchDtype = torchDtype
        self.hiddenAct = hiddenAct
    }

    /// Query heads sharing one key/value head (grouped-query attention).
    public var queriesPerKeyValueHead: Int { attentionHeadCount / keyValueHeadCount }

    /// Reads and validates `url` (normally `<dir>/config.json`).
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = Data(try InputFile.bytes(url.path)) } catch {
            throw CheckpointError.fileSystem(error, path: url.path, writing: false)
        }
        try self.init(jsonData: data, file: url.lastPathComponent)
    }

    /// Decodes config.json text. Decoding errors become one-line messages with a key path:
    /// `config.json: missing required field 'hidden_size'`,
    /// `config.json: rope_scaling.factor: expected a number`.
    public init(jsonData: Data, file: String = "config.json") throws {
        do {
            self = try JSONDecoder().decode(ModelConfig.self, from: jsonData)
        } catch let error as DecodingError {
            throw Self.describe(error, file: file)
        }
    }

    /// config.json text that transformers 4 and 5 both load as the family's causal LM (the
    /// transformers-4 layout, which 5 still reads): pretty-printed, sorted keys.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    static func describe(_ error: DecodingError, file: String) -> CheckpointError {
        func path(_ keys: [any CodingKey]) -> String { keys.map(\.stringValue).joined(separator: ".") }
        switch error {
        case let .keyNotFound(key, context):
            return .configMissingField(file: file, field: path(context.codingPath + [key]))
        case let .valueNotFound(_, context):
            return .configInvalid(file: file, field: path(context.codingPath), reason: "must not be null")
        case let .typeMismatch(type, context):
            let expected = switch type {
            case is Double.Type, is [Double].Type: "expected a number"
            case is String.Type: "expected a string"
            case is Bool.Type: "expected true or false"
            default: "expected \(type)"
            }
            return .configInvalid(file: file, field: path(context.codingPath), reason: expected)
        case let .dataCorrupted(context):
            if context.codingPath.isEmpty {
                return .configInvalid(file: file, field: "(document)",
                                      reason: "not valid JSON: \(SafetensorsHeader.describe(error))")
            }
            return .configInvalid(file: file, field: path(context.codingPath), reason: context.debugDescription)
        @unknown default:
            return .configInvalid(file: file, field: "(document)", reason: "\(error)")
        }
    }
}
