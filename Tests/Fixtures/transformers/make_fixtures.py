#!/usr/bin/env python3
"""Tiny random-weight models of every architecture owlprune runs, built by transformers from its
config classes alone (nothing is downloaded), with transformers' own float32 logits and per-token
NLL on fixed token ids. owlprune's tests (Tests/ModelTests/TransformersParityTests.swift,
Tests/IntegrationTests/ArchitecturePruneTests.swift) compare against them.

Needs torch and transformers (5.x for the models and the transformers-5 configs) and, for the
transformers-4 configs written beside them, a second Python with transformers 4.x given as
--transformers4-python (config classes only; no torch needed there). Run from the repository root:

    python3 Tests/Fixtures/transformers/make_fixtures.py --transformers4-python /tmp/tf4/bin/python

It rewrites Tests/Fixtures/transformers/<name>/ for every model below: config.json (written by
transformers 5), config.v4.json (the same configuration written by transformers 4),
model.safetensors (bfloat16), logits.f32 (little-endian float32, tokens x vocab) and
reference.json (token ids, NLL per token, NLL sum, versions). Everything is seeded: reruns with
the same versions give the same files.
"""
import argparse
import json
import math
import pathlib
import subprocess
import sys

import torch
import transformers
from transformers import AutoModelForCausalLM, LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config

VOCAB = 1024
TOKENS = 48  # one window; longer than the sliding windows and the dynamic-NTK context below
COMMON = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=4,
              num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5, bos_token_id=1, eos_token_id=2)

# name -> (config class, extra config arguments, what it exercises)
MODELS = {
    "llama3": (LlamaConfig, dict(max_position_embeddings=256, tie_word_embeddings=False,
                                 rope_parameters=dict(rope_type="llama3", rope_theta=500000.0, factor=8.0,
                                                      low_freq_factor=1.0, high_freq_factor=4.0,
                                                      original_max_position_embeddings=64)),
               "Llama 3.x: theta 500000, llama3 RoPE scaling, untied head"),
    "llama-linear": (LlamaConfig, dict(max_position_embeddings=256, tie_word_embeddings=True,
                                       rope_parameters=dict(rope_type="linear", rope_theta=10000.0, factor=4.0)),
                     "linear RoPE scaling, tied embeddings"),
    "llama-dynamic": (LlamaConfig, dict(max_position_embeddings=32, tie_word_embeddings=False,
                                        rope_parameters=dict(rope_type="dynamic", rope_theta=10000.0, factor=2.0)),
                      "dynamic NTK with a window (48) longer than max_position_embeddings (32)"),
    "llama-yarn": (LlamaConfig, dict(max_position_embeddings=256, tie_word_embeddings=False,
                                     rope_parameters=dict(rope_type="yarn", rope_theta=10000.0, factor=4.0,
                                                          original_max_position_embeddings=64)),
                   "YaRN scaling with its mscale attention factor"),
    "mistral": (MistralConfig, dict(max_position_embeddings=256, sliding_window=16, tie_word_embeddings=False,
                                    rope_parameters=dict(rope_type="default", rope_theta=1000000.0)),
                "sliding window 16 on every block, reached by the 48-token window"),
    "qwen2": (Qwen2Config, dict(max_position_embeddings=256, tie_word_embeddings=True, use_sliding_window=True,
                                sliding_window=12, max_window_layers=2,
                                rope_parameters=dict(rope_type="default", rope_theta=1000000.0)),
              "q/k/v biases, tied embeddings, sliding window 12 on blocks 2-3 only"),
    "qwen3": (Qwen3Config, dict(max_position_embeddings=256, tie_word_embeddings=False, head_dim=32,
                                rope_parameters=dict(rope_type="default", rope_theta=1000000.0)),
              "per-head q/k RMSNorm, head_dim 32 != hidden/heads 16, untied head"),
}

# The same configuration for transformers 4, which spells RoPE as rope_theta + rope_scaling.
V4_SCRIPT = r"""
import json, sys
from transformers import LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config
classes = dict(LlamaConfig=LlamaConfig, MistralConfig=MistralConfig, Qwen2Config=Qwen2Config, Qwen3Config=Qwen3Config)
spec = json.load(sys.stdin)
for item in spec:
    kwargs = dict(item["kwargs"])
    rope = kwargs.pop("rope_parameters")
    kwargs["rope_theta"] = rope.pop("rope_theta")
    kwargs["rope_scaling"] = None if rope["rope_type"] == "default" else rope
    config = classes[item["class"]](**kwargs)
    config.architectures = [item["class"].replace("Config", "ForCausalLM")]
    config.torch_dtype = "bfloat16"
    import os, shutil, tempfile
    with tempfile.TemporaryDirectory() as tmp:
        config.save_pretrained(tmp)
        shutil.copyfile(os.path.join(tmp, "config.json"), os.path.join(item["dir"], "config.v4.json"))
print(__import__("transformers").__version__)
"""


def scale_up(model: torch.nn.Module, generator: torch.Generator) -> None:
    """transformers initialises linears with std 0.02, which gives near-uniform logits that no
    architecture detail could change; redraw everything so each detail shows in the NLL."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=generator))
            elif name.endswith(".bias"):
                p.copy_(0.5 * torch.randn(p.shape, generator=generator))
            elif "embed_tokens" in name:
                p.copy_(torch.randn(p.shape, generator=generator))
            else:
                p.copy_(torch.randn(p.shape, generator=generator) * (1.5 / math.sqrt(p.shape[1])))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transformers4-python", required=True)
    args = parser.parse_args()
    root = pathlib.Path(__file__).resolve().parent
    torch.manual_seed(0)
    v4_spec = []
    summary = {}
    for index, (name, (config_class, extra, what)) in enumerate(MODELS.items()):
        out = root / name
        out.mkdir(exist_ok=True)
        config = config_class(**COMMON, **extra)
        config.architectures = [config_class.__name__.replace("Config", "ForCausalLM")]
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        generator = torch.Generator().manual_seed(1000 + index)
        scale_up(model, generator)
        model = model.to(torch.bfloat16).eval()
        model.save_pretrained(out, safe_serialization=True)
        (out / "generation_config.json").unlink(missing_ok=True)
        # The reference runs the stored bf16 weights in float32, as owlprune does.
        reference = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32, attn_implementation="eager").eval()
        ids = torch.randint(3, VOCAB, (1, TOKENS), generator=torch.Generator().manual_seed(2000 + index))
        with torch.no_grad():
            logits = reference(input_ids=ids).logits[0].float()
        nll = torch.nn.functional.cross_entropy(logits[:-1], ids[0, 1:], reduction="none")
        (out / "logits.f32").write_bytes(logits.contiguous().numpy().astype("<f4").tobytes())
        meta = dict(what=what, token_ids=ids[0].tolist(), nll=nll.tolist(), nll_sum=float(nll.double().sum()),
                    mean_nll=float(nll.double().mean()), ln_vocab=math.log(VOCAB),
                    transformers=transformers.__version__, torch=torch.__version__)
        (out / "reference.json").write_text(json.dumps(meta, indent=1) + "\n")
        kwargs = dict(COMMON, **extra)
        v4_spec.append({"class": config_class.__name__, "kwargs": kwargs, "dir": str(out)})
        summary[name] = (meta["mean_nll"], (out / "model.safetensors").stat().st_size)
    version = subprocess.run([args.transformers4_python, "-c", V4_SCRIPT], input=json.dumps(v4_spec), text=True,
                             capture_output=True, check=True).stdout.strip().splitlines()[-1]
    for name, (mean, size) in summary.items():
        print(f"{name}: mean NLL {mean:.3f} (ln V = {math.log(VOCAB):.3f}), weights {size} bytes")
    print(f"transformers {transformers.__version__} (models, config.json), {version} (config.v4.json); torch {torch.__version__}")


if __name__ == "__main__":
    sys.exit(main())
