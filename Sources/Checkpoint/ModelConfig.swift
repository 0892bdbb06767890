import Foundation

/// Llama-3 RoPE scaling (config.json `rope_scaling` with `rope_type: "llama3"`), the parameters of
/// transformers' `_compute_llama3_parameters` (`modeling_rope_utils.py`).
public struct RopeScaling: Sendable, Equatable {
    public static let llama3Type = "llama3"

    public var factor: Double
    public var lowFrequencyFactor: Double
    public var highFrequencyFactor: Double
    public var originalMaxPositionEmbeddings: Int

    public init(factor: Double, lowFrequencyFactor: Double, highFrequencyFactor: Double, originalMaxPositionEmbeddings: Int) {
        self.factor = factor
        self.lowFrequencyFactor = lowFrequencyFactor
        self.highFrequencyFactor = highFrequencyFactor
        self.originalMaxPositionEmbeddings = originalMaxPositionEmbeddings
    }
}

/// The part of a LLaMA-family `config.json` owlprune reads and writes (transformers
/// `LlamaConfig`). Decoding (`ModelConfig+Codable.swift`) fills the same defaults `LlamaConfig`
/// does and rejects what the forward pass would get wrong silently (an unknown RoPE scaling,
/// a non-SiLU activation, biases). Each property names its JSON key.
public struct ModelConfig: Sendable, Equatable {
    /// `architectures`; `["LlamaForCausalLM"]` when absent.
    public var architectures: [String]
    /// `model_type`, required (transformers' `AutoConfig` needs it too).
    public var modelType: String
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
    /// `rope_theta`; defaults to 10000.
    public var ropeTheta: Double
    /// `rope_scaling`; nil when null, absent, or `rope_type: "default"`.
    public var ropeScaling: RopeScaling?
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

    public init(architectures: [String] = ["LlamaForCausalLM"], modelType: String = "llama",
                hiddenSize: Int, intermediateSize: Int, layerCount: Int,
                attentionHeadCount: Int, keyValueHeadCount: Int, headDim: Int,
                rmsNormEpsilon: Double, ropeTheta: Double = 10000, ropeScaling: RopeScaling? = nil,
                maxPositionEmbeddings: Int, vocabSize: Int, tieWordEmbeddings: Bool = false,
                bosTokenIds: [Int]? = nil, eosTokenIds: [Int]? = nil, torchDtype: String? = nil,
                hiddenAct: String = "silu") {
        self.architectures = architectures
        self.modelType = modelType
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.attentionHeadCount = attentionHeadCount
        self.keyValueHeadCount = keyValueHeadCount
        self.headDim = headDim
        self.rmsNormEpsilon = rmsNormEpsilon
        self.ropeTheta = ropeTheta
        self.ropeScaling = ropeScaling
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
        do { data = try Data(contentsOf: url) } catch {
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

    /// config.json text that transformers loads as `LlamaForCausalLM`: pretty-printed, sorted keys.
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
