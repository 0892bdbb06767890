#!/usr/bin/env python3
"""transformers' own view of Qwen2.5-Coder-0.5B-Instruct Q4_K_M (the GGUF deploy/fetch-models
assembles from PyPI), for Tests/IntegrationTests/QwenGGUFTests.swift:

- wiki.test.raw.ids, wiki.valid.tokens.ids: the token ids (little-endian uint32, no header) of
  both WikiText-2 files from the tokenizer transformers builds from the GGUF
  (`AutoTokenizer.from_pretrained(dir, gguf_file=...)`), each file read as bytes, a leading UTF-8
  BOM dropped, decoded as UTF-8 and encoded as one string with the tokenizer's special-token
  handling (the GGUF says add_bos_token = false, so no BOS);
- reference.json: the dense perplexity of transformers' GGUF-loaded model
  (`AutoModelForCausalLM.from_pretrained(dir, gguf_file=..., dtype=float32)`) under owlprune's
  protocol (docs/algorithms.md §11) on the first 40 non-overlapping 512-token windows of
  wiki.test.raw, with the NLL sum of every window so a test may check any prefix of them.

Needs torch, transformers, gguf and accelerate (transformers requires it to load a GGUF model).
Per token NLL is computed in float32 (log_softmax over float32 logits), summed in float64 in
window and token order. Run from the repository root after deploy/fetch-models 0.5b:

    python3 Tests/Fixtures/qwen2.5-coder-0.5b/make_fixtures.py
"""
import hashlib
import json
import math
import pathlib
import sys

import numpy as np
import torch
import transformers
import gguf
from transformers import AutoModelForCausalLM, AutoTokenizer

ROOT = pathlib.Path(__file__).resolve().parents[3]
OUT = pathlib.Path(__file__).resolve().parent
GGUF_NAME = "Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf"
GGUF_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
WINDOWS, SEQLEN = 40, 512


def text(path):
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    return raw.decode("utf-8")


def main():
    models = ROOT / "models"
    path = models / GGUF_NAME
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != GGUF_SHA256:
        sys.exit(f"{path}: sha256 {digest}, expected {GGUF_SHA256}")
    tokenizer = AutoTokenizer.from_pretrained(str(models), gguf_file=GGUF_NAME)
    ids = {}
    for name in ["wiki.test.raw", "wiki.valid.tokens"]:
        tokens = tokenizer(text(ROOT / "data/wikitext-2" / name))["input_ids"]
        ids[name] = tokens
        data = np.asarray(tokens, dtype="<u4").tobytes()
        (OUT / f"{name}.ids").write_bytes(data)
        print(name, len(tokens), "ids, sha256", hashlib.sha256(data).hexdigest())

    torch.manual_seed(0)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    model = AutoModelForCausalLM.from_pretrained(str(models), gguf_file=GGUF_NAME, dtype=torch.float32)
    model.eval()
    test = ids["wiki.test.raw"]
    window_sums = []
    with torch.no_grad():
        for w in range(WINDOWS):
            x = torch.tensor([test[w * SEQLEN:(w + 1) * SEQLEN]])
            logits = model(x).logits[0].float()
            nll = -torch.log_softmax(logits[:-1], dim=-1).gather(1, x[0, 1:, None])[:, 0]
            window_sums.append(math.fsum(float(v) for v in nll.tolist()))
            print(f"window {w}: nll sum {window_sums[-1]:.6f}", flush=True)
    total = math.fsum(window_sums)
    reference = {
        "model": f"{GGUF_NAME} (sha256 {GGUF_SHA256}), loaded by transformers' GGUF loader in float32",
        "protocol": f"first {WINDOWS} non-overlapping {SEQLEN}-token windows of wiki.test.raw (docs/algorithms.md §11)",
        "windows": WINDOWS,
        "seqlen": SEQLEN,
        "window_nll_sums": window_sums,
        "nll_sum": total,
        "perplexity": math.exp(total / (WINDOWS * (SEQLEN - 1))),
        "ids": {name: len(v) for name, v in ids.items()},
        "versions": {"transformers": transformers.__version__, "torch": torch.__version__,
                     "gguf": getattr(gguf, "__version__", "unknown"), "python": sys.version.split()[0]},
    }
    (OUT / "reference.json").write_text(json.dumps(reference, indent=1) + "\n")
    print("perplexity", reference["perplexity"])


if __name__ == "__main__":
    main()
