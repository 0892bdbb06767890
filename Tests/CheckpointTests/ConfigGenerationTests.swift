import Foundation
import Testing
@testable import Checkpoint

/// What transformers 5 moved (`rope_parameters`, `dtype`) and what each family adds, read the way
/// transformers reads it, and every key that would change the forward pass without owlprune
/// computing it refused with a line naming it.
@Suite struct ConfigGenerationTests {
    static func config(_ type: String = "llama", _ extra: String = "") -> String {
        #"{"model_type": "\#(type)", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 4,"#
            + #" "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-6, "max_position_embeddings": 256,"#
            + #" "vocab_size": 100\#(extra.isEmpty ? "" : ", " + extra)}"#
    }

    static func decode(_ text: String) throws -> ModelConfig { try ModelConfig(jsonData: Data(text.utf8)) }

    static func failure(_ text: String) -> String {
        let error = #expect(throws: CheckpointError.self) { try decode(text) }
        return error?.localizedDescription ?? ""
    }

    /// The measured bug: transformers 5 writes θ only inside `rope_parameters`.
    @Test func transformers5RopeParameters() throws {
        let c = try Self.decode(Self.config("llama", #""rope_parameters": {"rope_theta": 500000.0, "rope_type": "default"}, "dtype": "bfloat16""#))
        #expect(c.ropeTheta == 500000 && c.ropeScaling == nil && c.torchDtype == "bfloat16")
        let scaled = try Self.decode(Self.config("llama", #""rope_parameters": {"rope_theta": 500000.0, "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 64}"#))
        #expect(scaled.ropeScaling == .llama3(.init(factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalMaxPositionEmbeddings: 64)))
        // transformers fills original_max_position_embeddings from max_position_embeddings.
        let yarn = try Self.decode(Self.config("llama", #""rope_parameters": {"rope_theta": 10000.0, "rope_type": "yarn", "factor": 4.0}"#))
        #expect(yarn.ropeScaling == .yarn(.init(factor: 4, originalMaxPositionEmbeddings: 256)))
        #expect(try Self.decode(Self.config("llama", #""rope_scaling": {"type": "linear", "factor": 2}"#)).ropeScaling == .linear(factor: 2))
        #expect(try Self.decode(Self.config("llama", #""rope_scaling": {"rope_type": "dynamic", "factor": 2}"#)).ropeScaling == .dynamic(factor: 2))
    }

    @Test func familyDefaults() throws {
        // Qwen3Config's head_dim default is 128, not hidden / heads.
        #expect(try Self.decode(Self.config("qwen3")).headDim == 128)
        #expect(try Self.decode(Self.config("qwen2")).headDim == 16)
        // MistralConfig's sliding_window default is 4096 on every block; null switches it off.
        let mistral = try Self.decode(Self.config("mistral"))
        #expect(mistral.slidingWindow == 4096 && mistral.slidingBlocks == [0, 1, 2, 3])
        #expect(try Self.decode(Self.config("mistral", #""sliding_window": null"#)).slidingWindow == nil)
        // Qwen2: only with use_sliding_window, from max_window_layers on.
        #expect(try Self.decode(Self.config("qwen2", #""sliding_window": 32"#)).slidingWindow == nil)
        let qwen = try Self.decode(Self.config("qwen2", #""use_sliding_window": true, "sliding_window": 32, "max_window_layers": 3"#))
        #expect(qwen.slidingWindow == 32 && qwen.slidingBlocks == [3])
        #expect(qwen.architectures == ["Qwen2ForCausalLM"])
        // Encoding keeps all of it.
        for c in [mistral, qwen] { #expect(try ModelConfig(jsonData: c.jsonData()) == c) }
        let odd = try Self.decode(Self.config("qwen3", #""use_sliding_window": true, "sliding_window": 8, "layer_types": ["sliding_attention", "full_attention", "sliding_attention", "full_attention"]"#))
        #expect(odd.slidingBlocks == [0, 2])
        #expect(try ModelConfig(jsonData: odd.jsonData()) == odd)
    }

    @Test(arguments: [
        (config("gemma"), "config.json: model_type: 'gemma' is not supported (owlprune runs llama, mistral, qwen2, qwen3)"),
        (config("llama", #""architectures": ["MistralForCausalLM"]"#),
         #"config.json: architectures: ["MistralForCausalLM"] does not name LlamaForCausalLM, the causal LM of model_type 'llama'"#),
        (config("llama", #""frobnicate": 3"#),
         "config.json: frobnicate: unknown key: owlprune cannot tell whether it changes the forward pass (remove it from config.json if it does not)"),
        (config("llama", #""num_local_experts": 8"#), "config.json: num_local_experts: mixture-of-experts models are not supported"),
        (config("llama", #""quantization_config": {"quant_method": "gptq"}"#),
         "config.json: quantization_config: quantized checkpoints are not supported (prune the unquantized model)"),
        (config("llama", #""attention_bias": true"#),
         "config.json: attention_bias: true puts a bias on o_proj too (transformers' LlamaForCausalLM), which owlprune does not support"),
        (config("qwen3", #""attention_bias": true"#),
         "config.json: attention_bias: true puts a bias on o_proj too (transformers' Qwen3ForCausalLM), which owlprune does not support"),
        (config("llama", #""rope_scaling": {"rope_type": "longrope", "factor": 2}"#),
         "config.json: rope_scaling.rope_type: 'longrope' is not supported (default, linear, dynamic, llama3, yarn, or null)"),
        (config("llama", #""rope_parameters": {"rope_type": "linear", "factor": 2, "ramp": 3}"#),
         "config.json: rope_parameters.ramp: unknown RoPE parameter: owlprune cannot tell what it changes"),
        (config("llama", #""rope_parameters": {"rope_type": "default"}, "rope_scaling": {"rope_type": "linear", "factor": 2}"#),
         "config.json: rope_parameters: rope_scaling and rope_parameters are both given; keep one (transformers 5 would silently use rope_scaling)"),
        (config("llama", #""rope_theta": 10000, "rope_parameters": {"rope_type": "default", "rope_theta": 500000}"#),
         "config.json: rope_theta: 10000.0 disagrees with rope_parameters.rope_theta 500000.0"),
        (config("llama", #""partial_rotary_factor": 0.5"#),
         "config.json: partial_rotary_factor: 0.5: partial rotary embeddings are not supported"),
        (config("llama", #""rope_interleaved": true"#),
         "config.json: rope_interleaved: interleaved RoPE is not supported (transformers rotates halves)"),
        (config("qwen2", #""use_sliding_window": false, "layer_types": ["sliding_attention", "full_attention", "full_attention", "full_attention"]"#),
         "config.json: layer_types: marks sliding_attention blocks, but sliding_window is off (use_sliding_window false or sliding_window null)"),
        (config("qwen2", #""layer_types": ["full_attention"]"#), "config.json: layer_types: 1 entries for 4 blocks"),
        (config("llama", #""rope_parameters": {"rope_type": "linear"}"#), "config.json: missing required field 'rope_parameters.factor'"),
    ]) func refusedWithOneLine(text: String, message: String) {
        #expect(Self.failure(text) == message)
    }

    /// Switched-off features and keys transformers ignores for a family are accepted.
    @Test func harmlessKeysAccepted() throws {
        _ = try Self.decode(Self.config("llama", #""clip_qkv": null, "use_parallel_residual": false, "sliding_window": 4096, "pretraining_tp": 1"#))
        _ = try Self.decode(Self.config("qwen2", #""attention_bias": true"#))  // Qwen2 hard-codes its biases.
    }
}
