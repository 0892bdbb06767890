#!/usr/bin/env python3
"""Gradient references for owlprune's decoder-block backward pass and its AdamW (LLM-Streamline,
issue 24), computed by PyTorch autograd on transformers' own decoder layer.

For each tiny model of make_fixtures.py (Tests/Fixtures/transformers/<name>/, built there; this
script only reads them) it runs the stored bfloat16 weights in float32 with eager attention on the
model's fixed token ids, captures the arguments the model passes to one decoder layer (its hidden
state, the causal or sliding-window mask and the RoPE cos/sin transformers builds for that config),
then calls that layer again on the captured hidden state and backpropagates the MSE loss
(torch.nn.functional.mse_loss, mean over tokens x hidden) against the hidden state two blocks
further on (the kind of target LLM-Streamline trains a layer towards). It writes
Tests/Fixtures/transformers/gradients/<name>/:

  tensors.safetensors  float32: input, target, output (tokens x hidden), grad.input, and
                       grad.<parameter> for every parameter of the layer, named as in the layer
                       (self_attn.q_proj.weight, input_layernorm.weight, self_attn.q_norm.weight, ...)
  reference.json       the layer index, the loss, versions

and Tests/Fixtures/transformers/gradients/adamw.json: four steps of torch.optim.AdamW with
LLM-Streamline's settings (lr 2e-4 under the authors' warmup-cosine schedule, weight decay 1e-3,
torch defaults otherwise) after torch.nn.utils.clip_grad_norm_(max_norm=5) on three small float32
tensors, with gradients large enough that some steps are clipped and some are not.

And Tests/Fixtures/transformers/gradients/replaceme.json: ReplaceMe's least-squares map
(mts-ai/ReplaceMe ReplaceMe/lstsq.py) computed by NumPy in float64 as the authors compute it with
torch -- T = inv(M^T M + alpha I) @ M^T (h_e + M - h_s), summed over three windows, and the folded
down projection T^T @ W -- for alpha 0 and 0.5, on small random float32 states.

Run from the repository root after make_fixtures.py:  python3 Tests/Fixtures/transformers/make_gradient_fixtures.py
Everything is seeded; reruns with the same versions give the same files.
"""
import json
import math
import pathlib
import sys

import torch
import transformers
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

# model -> layer whose backward is checked (qwen2: a sliding-window layer; mistral: every layer slides)
LAYERS = {"llama3": 1, "llama-linear": 1, "llama-dynamic": 1, "llama-yarn": 1, "mistral": 1, "qwen2": 2, "qwen3": 1}


def layer_gradients(root: pathlib.Path, name: str, layer_index: int) -> dict:
    src = root / name
    model = AutoModelForCausalLM.from_pretrained(src, dtype=torch.float32, attn_implementation="eager").eval()
    ids = torch.tensor([json.loads((src / "reference.json").read_text())["token_ids"]])
    layer = model.model.layers[layer_index]
    captured = {}

    def hook(module, args, kwargs):
        captured["args"], captured["kwargs"] = args, kwargs

    handle = layer.register_forward_pre_hook(hook, with_kwargs=True)
    with torch.no_grad():
        states = model(input_ids=ids, output_hidden_states=True, use_cache=False).hidden_states
    handle.remove()
    hidden = captured["args"][0] if captured["args"] else captured["kwargs"].pop("hidden_states")
    kwargs = {k: v for k, v in captured["kwargs"].items() if k != "hidden_states"}
    assert torch.equal(hidden, states[layer_index])
    target = states[layer_index + 2].detach().clone()
    x = hidden.detach().clone().requires_grad_(True)
    layer.zero_grad(set_to_none=True)
    out = layer(x, **kwargs)
    out = out[0] if isinstance(out, tuple) else out
    loss = torch.nn.functional.mse_loss(out, target)
    loss.backward()
    tensors = {"input": x.detach()[0], "target": target[0], "output": out.detach()[0], "grad.input": x.grad[0]}
    for pname, p in layer.named_parameters():
        tensors["grad." + pname] = p.grad
    out_dir = root / "gradients" / name
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().float().contiguous() for k, v in tensors.items()}, str(out_dir / "tensors.safetensors"))
    meta = dict(layer=layer_index, loss=loss.item(), tokens=int(ids.shape[1]),
                parameters=[n for n, _ in layer.named_parameters()],
                mask_kind=type(kwargs.get("attention_mask")).__name__,
                transformers=transformers.__version__, torch=torch.__version__)
    (out_dir / "reference.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta


def streamline_lr_lambda(step, warmup, total, max_lr, min_lr, cycles=0.5):
    """RUCKBReasoning/LLM-Streamline LLM_Streamline/scheduler.py, _get_cosine_schedule_with_warmup_lr_lambda."""
    if step < warmup:
        return float(step) / float(max(1, warmup))
    progress = float(step - warmup) / float(max(1, total - warmup))
    lam = max(0, 0.5 * (1.0 + math.cos(math.pi * float(cycles) * 2.0 * progress)))
    return (min_lr + lam * (max_lr - min_lr)) / max_lr


def adamw_reference(path: pathlib.Path) -> None:
    g = torch.Generator().manual_seed(24)
    params = [torch.nn.Parameter(torch.randn(n, generator=g)) for n in (5, 7, 3)]
    initial = [p.detach().clone().tolist() for p in params]
    lr, wd, min_lr = 2e-4, 1e-3, 5e-5
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    # warmup 1 step of 4 (as the authors' len(loader)*epochs*0.01*0.5 warmup rounds for a short run)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: streamline_lr_lambda(s, warmup=1, total=4, max_lr=lr, min_lr=min_lr))
    steps = []
    for step, scale in enumerate([3.0, 0.2, 2.0, 0.05]):
        grads = [torch.randn(p.shape, generator=g) * scale for p in params]
        for p, gr in zip(params, grads):
            p.grad = gr.clone()
        used_lr = optimizer.param_groups[0]["lr"]
        norm = torch.nn.utils.clip_grad_norm_(params, max_norm=5)
        optimizer.step()
        scheduler.step()
        steps.append(dict(gradients=[gr.tolist() for gr in grads], learning_rate=used_lr, norm=float(norm),
                          clipped=[p.grad.tolist() for p in params], parameters=[p.detach().tolist() for p in params]))
    path.write_text(json.dumps(dict(initial=initial, weight_decay=wd, max_norm=5, steps=steps,
                                    torch=torch.__version__), indent=1) + "\n")


def replaceme_reference(path: pathlib.Path) -> None:
    import numpy as np
    rng = np.random.default_rng(24)
    hidden, inter, windows, tokens = 8, 12, 3, 10
    win = []
    for _ in range(windows):
        m = rng.standard_normal((tokens, hidden)).astype(np.float32)
        hs = rng.standard_normal((tokens, hidden)).astype(np.float32)
        he = (hs + 0.3 * rng.standard_normal((tokens, hidden))).astype(np.float32)
        win.append((m, hs, he))
    down = (rng.standard_normal((hidden, inter)) / np.sqrt(inter)).astype(np.float32)
    gram = np.zeros((hidden, hidden))
    cross = np.zeros((hidden, hidden))
    for m, hs, he in win:
        a1 = m.astype(np.float64)
        a2 = he.astype(np.float64) + a1 - hs.astype(np.float64)
        gram += a1.T @ a1
        cross += a1.T @ a2
    results = []
    for alpha in (0.0, 0.5):
        t = np.linalg.inv(gram + alpha * np.eye(hidden)) @ cross
        folded = (t.T @ down.astype(np.float64)).astype(np.float32)
        results.append(dict(alpha=alpha, transform=t.tolist(), folded=folded.tolist()))
    path.write_text(json.dumps(dict(hidden=hidden, windows=[dict(mlp=m.tolist(), cut_input=hs.tolist(), cut_output=he.tolist())
                                                             for m, hs, he in win],
                                    down=down.tolist(), results=results, numpy=np.__version__), indent=1) + "\n")


def main() -> None:
    root = pathlib.Path(__file__).resolve().parent
    torch.manual_seed(0)
    for name, index in LAYERS.items():
        meta = layer_gradients(root, name, index)
        print(f"{name}: layer {meta['layer']}, loss {meta['loss']:.6f}, mask {meta['mask_kind']}, parameters {len(meta['parameters'])}")
    adamw_reference(root / "gradients" / "adamw.json")
    replaceme_reference(root / "gradients" / "replaceme.json")
    print(f"transformers {transformers.__version__}, torch {torch.__version__}")


if __name__ == "__main__":
    sys.exit(main())
