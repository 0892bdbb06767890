#!/usr/bin/env python3
"""owlprune against a PyTorch path of the reference code, on the same calibration windows.

Not part of CI (issue 11 item 5). For each method the two sides run in turn, A B A B …, so that
load from other work on the machine falls on both alike; every pair and the median ratio
(reference prune phase ÷ owlprune whole `prune` command) are printed.

  A  `owlprune prune` as a user runs it, timed from launch to exit (load, calibration, prune,
     write): the whole command.
  B  the reference path, timed over its prune phase only (calibration inputs caught at layer 0,
     then the layer loop; model loading is outside the clock). It is written here from the
     reference repositories' code paths, using transformers' own Llama decoder layers:
       Wanda       locuslab/wanda lib/prune.py: prune_wanda, lib/layerwrapper.py: WrappedGPT
       SparseGPT   IST-DASLab/sparsegpt llama.py: llama_sequential, sparsegpt.py: SparseGPT
                   (add_batch, fasterprune with blocksize 128, percdamp 0.01)
       OWL-Wanda   luuyin/OWL lib/prune_all.py: prune_wanda_outlier (phase 1 = hooked forward,
                   metrics, second forward, as the reference does; then prune_wanda's loop
                   with per-layer ratios), check_outlier_mean, Hyper_m 5, Lamda 0.08
     Attention is transformers' "sdpa" with an explicit causal mask (the references ran eager
     attention, which is slower: sdpa makes the baseline stronger, not weaker).

Same windows: the script draws the window starts with SplitMix64 exactly as docs/algorithms.md
§2.2 specifies, writes the N×L ids as a `--calib-tokens` file, and both sides read that file.

Usage (torch from PyPI in a throwaway venv; transformers too if it is not installed):
  python3 -m venv --system-site-packages /tmp/owlprune-bench-venv
  /tmp/owlprune-bench-venv/bin/pip install torch transformers
  /tmp/owlprune-bench-venv/bin/python Benchmarks/side_by_side.py \
      --owlprune .build/release/owlprune --model models/smollm2-135m
"""

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

MASK64 = (1 << 64) - 1


def splitmix_starts(tokens, length, count, seed):
    """docs/algorithms.md §2.2: start_i = next() mod (T - L + 1), i = 0 … N-1."""
    state, starts = seed, []
    for _ in range(count):
        state = (state + 0x9E3779B97F4A7C15) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        starts.append((z ^ (z >> 31)) % (tokens - length + 1))
    return starts


assert splitmix_starts(1000, 100, 3, 0) == [12, 777, 77], "SplitMix64 test vector of docs/algorithms.md §2"


def make_windows(ids_path, nsamples, seqlen, seed):
    ids = np.fromfile(ids_path, dtype="<u4")
    starts = splitmix_starts(len(ids), seqlen, nsamples, seed)
    return np.stack([ids[s:s + seqlen] for s in starts])


# ---------------------------------------------------------------- reference path (PyTorch)

class Reference:
    def __init__(self, model_dir, threads):
        import torch
        from transformers import AutoModelForCausalLM
        self.torch = torch
        torch.set_num_threads(threads)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32,
                                                          attn_implementation="sdpa")
        self.model.eval()
        self.dense = {k: v.clone() for k, v in self.model.state_dict().items()}

    def restore(self):
        self.model.load_state_dict(self.dense)

    def find_layers(self, layer):
        # lib/prune.py find_layers: every nn.Linear of the decoder layer, in module order.
        return {n: m for n, m in layer.named_modules() if isinstance(m, self.torch.nn.Linear)}

    def calibration_inputs(self, windows):
        # prepare_calibration_input: the layer-0 inputs of every window (the Catcher), the
        # attention mask and the position embeddings the layers are called with.
        torch = self.torch
        inner = self.model.model
        ids = torch.from_numpy(windows.astype(np.int64))
        inps = inner.embed_tokens(ids)
        n, length = ids.shape
        position_ids = torch.arange(length).unsqueeze(0)
        mask = torch.full((length, length), float("-inf")).triu(1)[None, None]
        rope = inner.rotary_emb(inps[:1], position_ids)
        return inps.clone(), torch.zeros_like(inps), dict(attention_mask=mask, position_ids=position_ids,
                                                          position_embeddings=rope)

    @staticmethod
    def call(layer, x, kw):
        out = layer(x.unsqueeze(0), **kw)
        return (out[0] if isinstance(out, tuple) else out)[0]

    # locuslab/wanda lib/layerwrapper.py WrappedGPT.add_batch
    class Scaler:
        def __init__(self, torch, columns):
            self.torch, self.scaler_row, self.nsamples = torch, torch.zeros(columns), 0

        def add_batch(self, inp):
            inp = inp.reshape(-1, inp.shape[-1]).t().float()
            self.scaler_row *= self.nsamples / (self.nsamples + 1)
            self.nsamples += 1
            self.scaler_row += self.torch.norm(inp, p=2, dim=1) ** 2 / self.nsamples

    # IST-DASLab/sparsegpt sparsegpt.py SparseGPT.add_batch
    class Hessian:
        def __init__(self, torch, columns):
            self.torch, self.H, self.nsamples = torch, torch.zeros(columns, columns), 0

        def add_batch(self, inp):
            inp = inp.reshape(-1, inp.shape[-1]).t()
            self.H *= self.nsamples / (self.nsamples + 1)
            self.nsamples += 1
            inp = math.sqrt(2 / self.nsamples) * inp.float()
            self.H += inp.matmul(inp.t())

    def hooked_forward(self, layer, inps, outs, kw, kind):
        subset = self.find_layers(layer)
        wrapped = {n: kind(self.torch, m.weight.shape[1]) for n, m in subset.items()}
        handles = [m.register_forward_hook(lambda _, inp, out, n=n: wrapped[n].add_batch(inp[0].data))
                   for n, m in subset.items()]
        for j in range(inps.shape[0]):
            outs[j] = self.call(layer, inps[j], kw)
        for h in handles:
            h.remove()
        return subset, wrapped

    def wanda_layer(self, subset, wrapped, ratio):
        torch = self.torch
        for name, module in subset.items():
            W = module.weight.data
            metric = torch.abs(W) * torch.sqrt(wrapped[name].scaler_row.reshape((1, -1)))
            mask = torch.zeros_like(metric) == 1
            order = torch.sort(metric, dim=-1, stable=True)[1]
            mask.scatter_(1, order[:, :int(metric.shape[1] * ratio)], True)
            W[mask] = 0

    def fasterprune(self, module, H, sparsity, blocksize=128, percdamp=.01):
        torch = self.torch
        W = module.weight.data.clone().float()
        rows, columns = W.shape
        dead = torch.diag(H) == 0
        H[dead, dead] = 1
        W[:, dead] = 0
        damp = percdamp * torch.mean(torch.diag(H))
        diag = torch.arange(columns)
        H[diag, diag] += damp
        H = torch.linalg.cholesky(H)
        H = torch.cholesky_inverse(H)
        Hinv = torch.linalg.cholesky(H, upper=True)
        for i1 in range(0, columns, blocksize):
            i2 = min(i1 + blocksize, columns)
            count = i2 - i1
            W1 = W[:, i1:i2].clone()
            Q1 = torch.zeros_like(W1)
            Err1 = torch.zeros_like(W1)
            Hinv1 = Hinv[i1:i2, i1:i2]
            tmp = W1 ** 2 / (torch.diag(Hinv1).reshape((1, -1))) ** 2
            thresh = torch.sort(tmp.flatten())[0][int(tmp.numel() * sparsity)]
            mask1 = tmp <= thresh
            for i in range(count):
                w = W1[:, i]
                d = Hinv1[i, i]
                q = w.clone()
                q[mask1[:, i]] = 0
                Q1[:, i] = q
                err1 = (w - q) / d
                W1[:, i:] -= err1.unsqueeze(1).matmul(Hinv1[i, i:].unsqueeze(0))
                Err1[:, i] = err1
            W[:, i1:i2] = Q1
            W[:, i2:] -= Err1.matmul(Hinv[i1:i2, i2:])
        module.weight.data = W.reshape(module.weight.shape).to(module.weight.data.dtype)

    def owl_ratios(self, windows, sparsity, hyper_m=5.0, lamda=0.08):
        torch = self.torch
        inps, outs, kw = self.calibration_inputs(windows)
        ratios = []
        for layer in self.model.model.layers:
            subset, wrapped = self.hooked_forward(layer, inps, outs, kw, self.Scaler)
            metrics = [torch.abs(m.weight.data) * torch.sqrt(wrapped[n].scaler_row.reshape((1, -1)))
                       for n, m in subset.items()]
            for j in range(inps.shape[0]):
                outs[j] = self.call(layer, inps[j], kw)
            inps, outs = outs, inps
            pooled = torch.cat([torch.flatten(x) for x in metrics])
            ratios.append(float((pooled > torch.mean(pooled) * hyper_m).sum().item()) / pooled.numel() * 100)
        r = np.array(ratios)
        r = (r - r.min()) * (1 / (r.max() - r.min()) * lamda * 2)
        r = r - np.mean(r) + (1 - sparsity)
        return [1 - x for x in r]

    def prune(self, method, windows, sparsity):
        """The timed prune phase; returns seconds."""
        torch = self.torch
        self.restore()
        with torch.no_grad():
            t0 = time.perf_counter()
            layers = self.model.model.layers
            per_layer = self.owl_ratios(windows, sparsity) if method == "owl-wanda" else [sparsity] * len(layers)
            inps, outs, kw = self.calibration_inputs(windows)
            for i, layer in enumerate(layers):
                if method == "sparsegpt":
                    subset, wrapped = self.hooked_forward(layer, inps, outs, kw, self.Hessian)
                    for name, module in subset.items():
                        self.fasterprune(module, wrapped[name].H, per_layer[i])
                else:
                    subset, wrapped = self.hooked_forward(layer, inps, outs, kw, self.Scaler)
                    self.wanda_layer(subset, wrapped, per_layer[i])
                for j in range(inps.shape[0]):
                    outs[j] = self.call(layer, inps[j], kw)
                inps, outs = outs, inps
            return time.perf_counter() - t0


# ---------------------------------------------------------------- owlprune

OWLPRUNE_ARGS = {
    "wanda": ["--method", "wanda", "--sparsity", "0.5"],
    "sparsegpt": ["--method", "sparsegpt", "--sparsity", "0.5"],
    "owl-wanda": ["--method", "wanda", "--allocation", "owl", "--sparsity", "0.7"],
}
REFERENCE_SPARSITY = {"wanda": 0.5, "sparsegpt": 0.5, "owl-wanda": 0.7}


def run_owlprune(binary, model, tokens_file, nsamples, seqlen, method, threads, out):
    cmd = [binary, "prune", "--model", model, "--out", out, "--force", "--calib-tokens", tokens_file,
           "--nsamples", str(nsamples), "--seqlen", str(seqlen)] + OWLPRUNE_ARGS[method]
    if threads:
        cmd += ["--threads", str(threads)]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"owlprune failed ({' '.join(cmd)}):\n{done.stderr}")
    return seconds


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(here)
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--owlprune", required=True, help="the owlprune binary")
    p.add_argument("--model", default=os.path.join(repo, "models", "smollm2-135m"), help="HF checkpoint directory")
    p.add_argument("--ids", default=os.path.join(repo, "Tests", "Fixtures", "smollm2", "wiki.valid.tokens.ids"),
                   help="calibration token ids (little-endian uint32)")
    p.add_argument("--nsamples", type=int, default=16)
    p.add_argument("--seqlen", type=int, default=512)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rounds", type=int, default=2, help="A B pairs per method")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for both sides")
    p.add_argument("--methods", default="wanda,sparsegpt,owl-wanda")
    args = p.parse_args()

    windows = make_windows(args.ids, args.nsamples, args.seqlen, args.seed)
    reference = Reference(args.model, args.threads)
    with tempfile.TemporaryDirectory(prefix="owlprune-side-by-side-") as tmp:
        tokens_file = os.path.join(tmp, "windows.ids")
        windows.astype("<u4").tofile(tokens_file)
        print(f"{args.nsamples} windows × {args.seqlen} tokens, seed {args.seed}, {args.threads} thread(s) each side")
        for method in args.methods.split(","):
            ratios = []
            for r in range(args.rounds):
                a = run_owlprune(args.owlprune, args.model, tokens_file, args.nsamples, args.seqlen, method,
                                 args.threads, os.path.join(tmp, "out"))
                b = reference.prune(method, windows, REFERENCE_SPARSITY[method])
                ratios.append(b / a)
                print(f"  {method:10s} pair {r + 1}: owlprune prune {a:7.2f} s | reference prune phase {b:7.2f} s"
                      f" | ratio {b / a:5.2f}", flush=True)
            print(f"{method:10s} median ratio (reference ÷ owlprune) {statistics.median(ratios):.2f}", flush=True)


if __name__ == "__main__":
    main()
