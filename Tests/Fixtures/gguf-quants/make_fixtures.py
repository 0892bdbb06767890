#!/usr/bin/env python3
"""Crafted blocks of every ggml type owlprune imports, with llama.cpp's own decoding of them
(`gguf.quants.dequantize` from the `gguf` package on PyPI, 0.19.0 when these were written).
Tests/CheckpointTests/GGUFDequantFixtureTests.swift decodes the same bytes with GGUFDequant and
requires identical float32 bit patterns.

For each type T it writes T.blocks (the raw blocks, as they would sit in a GGUF file) and T.f32
(the decoded values, little-endian float32). Blocks are random bytes from a fixed seed, with
every f16 scale field (d, dmin, m) replaced by a random finite half (negative, subnormal and
zero included), plus one block of all-ones quant bits and one of all-zero quant bits so the
extremes of every field are covered. Run from the repository root:

    python3 Tests/Fixtures/gguf-quants/make_fixtures.py
"""
import pathlib

import gguf
import numpy as np
from gguf import GGMLQuantizationType as T

OUT = pathlib.Path(__file__).resolve().parent
# type -> (blocks to write, byte offsets of the f16 scale fields inside a block)
TYPES = {
    T.F16: (64, []), T.BF16: (64, []), T.F32: (64, []),
    T.Q4_0: (16, [0]), T.Q4_1: (16, [0, 2]), T.Q5_0: (16, [0]), T.Q5_1: (16, [0, 2]), T.Q8_0: (16, [0]),
    T.Q2_K: (4, [80, 82]), T.Q3_K: (4, [108]), T.Q4_K: (4, [0, 2]), T.Q5_K: (4, [0, 2]), T.Q6_K: (4, [208]),
}


def finite_halves(rng, n):
    """Random f16 bit patterns that are finite (exponent field not all ones)."""
    h = rng.integers(0, 1 << 16, size=n, dtype=np.uint32).astype(np.uint16)
    bad = (h & 0x7C00) == 0x7C00
    h[bad] &= 0xBBFF  # clear one exponent bit: finite, sign kept
    return h


def main():
    rng = np.random.default_rng(25)
    for qtype, (count, scale_offsets) in TYPES.items():
        block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
        raw = rng.integers(0, 256, size=(count, type_size), dtype=np.uint16).astype(np.uint8)
        if qtype == T.F16:
            raw = finite_halves(rng, count * type_size // 2).view(np.uint8).reshape(count, type_size)
            raw.reshape(-1)[:8] = np.array([0x0000, 0x8000, 0x7C00, 0xFC00], dtype=np.uint16).view(np.uint8)  # ±0, ±inf
        elif qtype == T.BF16:
            bits = raw.view(np.uint16)
            bits[(bits & 0x7F80) == 0x7F80] &= 0xFF7F  # no NaN/inf patterns: finite, sign kept
        elif qtype == T.F32:
            raw = rng.standard_normal(count * type_size // 4).astype(np.float32).view(np.uint8).reshape(count, type_size)
        else:
            raw[1, :] = 0xFF
            raw[2, :] = 0x00
            for off in scale_offsets:
                raw[:, off:off + 2] = finite_halves(rng, count).view(np.uint8).reshape(count, 2)
        values = gguf.quants.dequantize(raw.reshape(-1), qtype)
        values = np.asarray(values, dtype=np.float32).reshape(-1)
        assert values.size == count * block_size
        (OUT / f"{qtype.name}.blocks").write_bytes(raw.tobytes())
        (OUT / f"{qtype.name}.f32").write_bytes(values.astype("<f4").tobytes())
        print(qtype.name, count, "blocks")


if __name__ == "__main__":
    main()
