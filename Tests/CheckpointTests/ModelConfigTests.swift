import Foundation
import Testing
@testable import Checkpoint

/// config.json decoding from the published model cards' files, verbatim.
@Suite struct ModelConfigTests {
    /// HuggingFaceTB/SmolLM2-135M-Instruct `config.json`.
    static let smolLM2 = """
    {
      "architectures": [
        "LlamaForCausalLM"
      ],
      "attention_bias": false,
      "attention_dropout": 0.0,
      "bos_token_id": 1,
      "eos_token_id": 2,
      "hidden_act": "silu",
      "hidden_size": 576,
      "initializer_range": 0.041666666666666664,
      "intermediate_size": 1536,
      "is_llama_config": true,
      "max_position_embeddings": 8192,
      "model_type": "llama",
      "num_attention_heads": 9,
      "num_hidden_layers": 30,
      "num_key_value_heads": 3,
      "pad_token_id": 2,
      "pretraining_tp": 1,
      "rms_norm_eps": 1e-05,
      "rope_interleaved": false,
      "rope_scaling": null,
      "rope_theta": 100000,
      "tie_word_embeddings": true,
      "torch_dtype": "bfloat16",
      "transformers_version": "4.42.3",
      "transformers.js_config": {
        "kv_cache_dtype": {
          "q4f16": "float16",
          "fp16": "float16"
        }
      },
      "use_cache": true,
      "vocab_size": 49152
    }
    """

    /// meta-llama/Llama-2-7b-hf `config.json` (no rope_theta: the 10000 default applies).
    static let llama2 = """
    {
      "_name_or_path": "meta-llama/Llama-2-7b-hf",
      "architectures": [
        "LlamaForCausalLM"
      ],
      "bos_token_id": 1,
      "eos_token_id": 2,
      "hidden_act": "silu",
      "hidden_size": 4096,
      "initializer_range": 0.02,
      "intermediate_size": 11008,
      "max_position_embeddings": 4096,
      "model_type": "llama",
      "num_attention_heads": 32,
      "num_hidden_layers": 32,
      "num_key_value_heads": 32,
      "pretraining_tp": 1,
      "rms_norm_eps": 1e-05,
      "rope_scaling": null,
      "tie_word_embeddings": false,
      "torch_dtype": "float16",
      "transformers_version": "4.31.0.dev0",
      "use_cache": true,
      "vocab_size": 32000
    }
    """

    /// meta-llama/Llama-3.1-8B `config.json`.
    static let llama31 = """
    {
      "architectures": [
        "LlamaForCausalLM"
      ],
      "attention_bias": false,
      "attention_dropout": 0.0,
      "bos_token_id": 128000,
      "eos_token_id": 128001,
      "hidden_act": "silu",
      "hidden_size": 4096,
      "initializer_range": 0.02,
      "intermediate_size": 14336,
      "max_position_embeddings": 131072,
      "mlp_bias": false,
      "model_type": "llama",
      "num_attention_heads": 32,
      "num_hidden_layers": 32,
      "num_key_value_heads": 8,
      "pretraining_tp": 1,
      "rms_norm_eps": 1e-05,
      "rope_scaling": {
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 8192,
        "rope_type": "llama3"
      },
      "rope_theta": 500000.0,
      "tie_word_embeddings": false,
      "torch_dtype": "bfloat16",
      "transformers_version": "4.43.0.dev0",
      "use_cache": true,
      "vocab_size": 128256
    }
    """

    static func decode(_ text: String) throws -> ModelConfig { try ModelConfig(jsonData: Data(text.utf8)) }

    static func failure(_ text: String) -> String {
        let error = #expect(throws: CheckpointError.self) { try decode(text) }
        return error?.localizedDescription ?? ""
    }

    @Test func smolLM2() throws {
        let c = try Self.decode(Self.smolLM2)
        #expect(c == ModelConfig(hiddenSize: 576, intermediateSize: 1536, layerCount: 30, attentionHeadCount: 9,
                                 keyValueHeadCount: 3, headDim: 64, rmsNormEpsilon: 1e-5, ropeTheta: 100000,
                                 maxPositionEmbeddings: 8192, vocabSize: 49152, tieWordEmbeddings: true,
                                 bosTokenIds: [1], eosTokenIds: [2], torchDtype: "bfloat16"))
        #expect(c.queriesPerKeyValueHead == 3)
    }

    @Test func llama2DefaultsRopeTheta() throws {
        let c = try Self.decode(Self.llama2)
        #expect(c.ropeTheta == 10000 && c.ropeScaling == nil && c.headDim == 128)
        #expect(c.keyValueHeadCount == 32 && c.intermediateSize == 11008 && !c.tieWordEmbeddings)
        #expect(c.torchDtype == "float16")
    }

    @Test func llama31KeepsFloatRopeScaling() throws {
        let c = try Self.decode(Self.llama31)
        #expect(c.ropeScaling == .llama3(Llama3RopeScaling(factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4,
                                                           originalMaxPositionEmbeddings: 8192)))
        #expect(c.ropeTheta == 500000 && c.keyValueHeadCount == 8 && c.vocabSize == 128256)
        // The same numbers written as integers, and the older "type" key, decode identically.
        let integers = Self.llama31.replacingOccurrences(of: "8.0", with: "8").replacingOccurrences(of: "1.0,", with: "1,")
            .replacingOccurrences(of: "\"rope_type\"", with: "\"type\"")
        #expect(try Self.decode(integers).ropeScaling == c.ropeScaling)
        // Integer fields accept 8.0 too.
        let floats = Self.llama31.replacingOccurrences(of: "\"num_key_value_heads\": 8", with: "\"num_key_value_heads\": 8.0")
        #expect(try Self.decode(floats).keyValueHeadCount == 8)
    }

    @Test func eosAsListAndDefaults() throws {
        let instruct = Self.llama31.replacingOccurrences(of: "\"eos_token_id\": 128001", with: "\"eos_token_id\": [128001, 128008, 128009]")
        #expect(try Self.decode(instruct).eosTokenIds == [128001, 128008, 128009])
        let minimal = #"{"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,"#
            + #" "num_attention_heads": 4, "rms_norm_eps": 1e-6, "max_position_embeddings": 32, "vocab_size": 100}"#
        let c = try Self.decode(minimal)
        #expect(c.keyValueHeadCount == 4 && c.headDim == 16 && c.ropeTheta == 10000 && !c.tieWordEmbeddings)
        #expect(c.bosTokenIds == nil && c.eosTokenIds == nil && c.torchDtype == nil)
        #expect(c.architectures == ["LlamaForCausalLM"])
    }

    @Test func errorsNameTheField() {
        #expect(Self.failure(Self.smolLM2.replacingOccurrences(of: "\"hidden_size\": 576,", with: ""))
            == "config.json: missing required field 'hidden_size'")
        #expect(Self.failure(Self.llama31.replacingOccurrences(of: "\"factor\": 8.0,", with: ""))
            == "config.json: missing required field 'rope_scaling.factor'")
        #expect(Self.failure(Self.llama31.replacingOccurrences(of: "\"factor\": 8.0", with: "\"factor\": \"8\""))
            == "config.json: rope_scaling.factor: expected a number")
        #expect(Self.failure(Self.llama31.replacingOccurrences(of: "\"rope_type\": \"llama3\"", with: "\"rope_type\": \"longrope\""))
            == "config.json: rope_scaling.rope_type: 'longrope' is not supported (default, linear, dynamic, llama3, yarn, or null)")
        #expect(Self.failure(Self.smolLM2.replacingOccurrences(of: "\"num_hidden_layers\": 30", with: "\"num_hidden_layers\": 30.5"))
            == "config.json: num_hidden_layers: expected an integer, got 30.5")
        #expect(Self.failure(Self.smolLM2.replacingOccurrences(of: "\"num_key_value_heads\": 3", with: "\"num_key_value_heads\": 4"))
            == "config.json: num_key_value_heads: 4 does not divide num_attention_heads 9")
        #expect(Self.failure(Self.smolLM2.replacingOccurrences(of: "\"silu\"", with: "\"gelu\""))
            == "config.json: hidden_act: 'gelu' is not supported (owlprune runs SwiGLU with silu)")
        #expect(Self.failure("{").hasPrefix("config.json: (document): not valid JSON"))
    }

    @Test func encodingRoundTripsAndLooksLikeTransformers() throws {
        for text in [Self.smolLM2, Self.llama2, Self.llama31] {
            let c = try Self.decode(text)
            let data = try c.jsonData()
            #expect(try ModelConfig(jsonData: data) == c)
            let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            #expect(object["architectures"] as? [String] == ["LlamaForCausalLM"])
            #expect(object["model_type"] as? String == "llama" && object["hidden_act"] as? String == "silu")
        }
        let text = try #require(String(data: Self.decode(Self.smolLM2).jsonData(), encoding: .utf8))
        #expect(text.contains(#""rms_norm_eps" : 1e-05"#))
        #expect(text.contains(#""rope_scaling" : null"#))
        #expect(text.contains(#""eos_token_id" : 2,"#))
    }
}
