/// Every top-level config.json key owlprune knows, sorted by what it does to the forward pass.
/// A key in none of these lists is an error naming it: owlprune cannot tell whether it changes
/// the computation, and a pruning run on a silently different model is worse than no run
/// (issue: configs of transformers 5 were misread without a word). Keys read by
/// `ModelConfig+Codable.swift` are not repeated here.
enum ConfigKeys {
    /// Keys that never change a float32 inference forward pass: bookkeeping, training-only
    /// settings, generation defaults of transformers 4's `PretrainedConfig`, and the extra keys
    /// of common exporters (nanotron's `is_llama_config`, transformers.js's block).
    static let ignored: Set<String> = [
        "_name_or_path", "transformers_version", "use_cache", "initializer_range", "pad_token_id",
        "attention_dropout", "pretraining_tp", "output_attentions", "output_hidden_states", "return_dict",
        "id2label", "label2id", "problem_type", "tokenizer_class", "torchscript", "chunk_size_feed_forward",
        "is_encoder_decoder", "is_decoder", "add_cross_attention", "tie_encoder_decoder", "prefix",
        "sep_token_id", "decoder_start_token_id", "task_specific_params", "finetuning_task",
        "cross_attention_hidden_size", "pruned_heads", "tf_legacy_loss", "use_bfloat16",
        "bad_words_ids", "begin_suppress_tokens", "diversity_penalty", "do_sample", "early_stopping",
        "encoder_no_repeat_ngram_size", "exponential_decay_length_penalty", "forced_bos_token_id",
        "forced_eos_token_id", "length_penalty", "max_length", "min_length", "no_repeat_ngram_size",
        "num_beam_groups", "num_beams", "num_return_sequences", "output_scores", "remove_invalid_values",
        "repetition_penalty", "return_dict_in_generate", "suppress_tokens", "temperature", "top_k",
        "top_p", "typical_p", "is_llama_config", "transformers.js_config", "_attn_implementation_autoset",
        "attn_implementation", "output_router_logits", "keys_to_ignore_at_inference",
    ]

    /// Keys that change the forward pass in a way owlprune does not compute, with the reason
    /// given to the user.
    static let refused: [String: String] = [
        "quantization_config": "quantized checkpoints are not supported (prune the unquantized model)",
        "auto_map": "the model needs remote code, which owlprune does not run",
        "num_experts": "mixture-of-experts models are not supported",
        "num_local_experts": "mixture-of-experts models are not supported",
        "num_experts_per_tok": "mixture-of-experts models are not supported",
        "moe_intermediate_size": "mixture-of-experts models are not supported",
        "attn_logit_softcapping": "attention logit soft-capping is not supported",
        "final_logit_softcapping": "final logit soft-capping is not supported",
        "query_pre_attn_scalar": "a custom attention scale is not supported",
        "embedding_multiplier": "scaled embeddings are not supported",
        "logits_scaling": "scaled logits are not supported",
        "residual_multiplier": "scaled residuals are not supported",
        "attention_multiplier": "a custom attention scale is not supported",
        "clip_qkv": "clipped q/k/v are not supported",
        "use_parallel_residual": "parallel residual blocks are not supported",
        "hidden_activation": "only hidden_act 'silu' (SwiGLU) is supported",
        "layer_norm_eps": "LayerNorm models are not supported (owlprune runs RMSNorm)",
        "use_qk_norm": "a configurable q/k norm is not supported",
        "qk_layernorm": "a configurable q/k norm is not supported",
    ]

    /// Keys only some families read; elsewhere transformers ignores them too, so they are accepted
    /// and left unread there (e.g. `sliding_window` in a Llama config).
    static let familySpecific: Set<String> = [
        "sliding_window", "use_sliding_window", "max_window_layers", "layer_types", "attention_bias", "mlp_bias",
    ]
}
