"""Tensors and metadata of owlprune's GGUF export against llama.cpp's convert_hf_to_gguf.py output.

    python3 gguf_diff.py OWLPRUNE.gguf REFERENCE.gguf

Prints one line per difference and a closing summary; exits 1 when a tensor differs (name, shape,
or a value after dequantization) or a metadata key the reference writes is missing or different,
except keys listed in EXPECTED (derived from the directory name or the model card, which
owlprune does not read).
"""
import sys

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize

# general.* keys the converter fills from the model card / directory name heuristics.
EXPECTED = {"general.name", "general.basename", "general.finetune", "general.version", "general.organization",
            "general.license", "general.tags", "general.languages", "general.datasets", "general.base_model.count",
            "general.quantized_by", "general.repo_url", "general.url", "general.description"}


def fields(reader):
    out = {}
    for name, field in reader.fields.items():
        if name.startswith("GGUF.") or not field.types:
            continue
        value = field.contents()
        out[name] = value
    return out


def tensors(reader):
    return {t.name: t for t in reader.tensors}


def main(a_path, b_path):
    a, b = GGUFReader(a_path), GGUFReader(b_path)
    problems = 0
    ta, tb = tensors(a), tensors(b)
    for name in sorted(set(ta) | set(tb)):
        if name not in ta or name not in tb:
            print(f"tensor {name}: only in {'owlprune' if name in ta else 'convert_hf_to_gguf'}")
            problems += 1
            continue
        x, y = ta[name], tb[name]
        if list(x.shape) != list(y.shape):
            print(f"tensor {name}: shape {list(x.shape)} vs {list(y.shape)}")
            problems += 1
            continue
        vx = dequantize(x.data, x.tensor_type).astype(np.float64).reshape(-1)
        vy = dequantize(y.data, y.tensor_type).astype(np.float64).reshape(-1)
        diff = float(np.max(np.abs(vx - vy))) if vx.size else 0.0
        if diff != 0:
            print(f"tensor {name}: max |Δ| {diff:g} ({x.tensor_type.name} vs {y.tensor_type.name})")
            problems += 1
    fa, fb = fields(a), fields(b)
    for key in sorted(set(fa) | set(fb)):
        if key in EXPECTED:
            continue
        if key not in fa:
            print(f"metadata {key}: missing in owlprune's export (reference {str(fb[key])[:80]})")
            problems += 1
        elif key not in fb:
            print(f"metadata {key}: only in owlprune's export ({str(fa[key])[:80]})")
        elif fa[key] != fb[key]:
            print(f"metadata {key}: {str(fa[key])[:60]} vs reference {str(fb[key])[:60]}")
            problems += 1
    print(f"{len(ta)} tensors, {len(fa)} metadata keys; {problems} difference(s)"
          + (f"; ignored as model-card derived: {sorted(k for k in fb if k in EXPECTED)}" if any(k in EXPECTED for k in fb) else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
