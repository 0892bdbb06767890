#!/usr/bin/env python3
"""Does OpenBLAS's sgemm give a row the same bits in one call over many rows as in 32-row calls?

SparseGPT's lazy update (`Matrix.subtractTransposedProduct`, C[rows, i2:] -= E^T U[i1:i2, i2:]) runs
one sgemm per 32-row panel because the panel fixes the bits (docs/design.md section 3). This script
calls the system OpenBLAS the way owlprune does (row-major, A transposed, alpha -1, beta 1, one
thread, Haswell kernels) once per 32-row panel and once over all full panels, and counts the shapes
whose results differ anywhere. Not part of CI.

    OPENBLAS_CORETYPE=Haswell OPENBLAS_NUM_THREADS=1 python3 Benchmarks/blas_bits/sgemm_panel_rows.py
"""
import ctypes

import numpy as np

lib = ctypes.CDLL("/lib/x86_64-linux-gnu/libopenblas.so.0")
lib.openblas_set_num_threads(1)
lib.openblas_get_corename.restype = ctypes.c_char_p
print("OpenBLAS core:", lib.openblas_get_corename().decode())
ROW_MAJOR, TRANS, NO_TRANS = 101, 112, 111
F32 = ctypes.POINTER(ctypes.c_float)


def at(a, offset):
    return ctypes.cast(a.ctypes.data + 4 * offset, F32)


def subtract(c, ldc, row0, m, e_t, b, ldb, n, k, col0, b_offset):
    """c[row0:row0+m, col0:col0+n] -= e_t^T (k x m, ld m) times b[.., ..] (k x n at b_offset, ld ldb)."""
    lib.cblas_sgemm(ROW_MAJOR, TRANS, NO_TRANS, m, n, k, ctypes.c_float(-1.0), at(e_t, 0), m,
                    at(b, b_offset), ldb, ctypes.c_float(1.0), at(c, row0 * ldc + col0), ldc)


rng = np.random.default_rng(0)
cases = differ = 0
for rows in [64, 96, 192, 576, 1536, 4096, 8960]:
    for cols in [576, 1536, 4096, 8960]:
        if rows * cols > 8960 * 4096:
            continue
        for i2, k in [(128, 128), (256, 128), (cols - 128, 128)]:
            n = cols - i2
            w = rng.standard_normal((rows, cols)).astype(np.float32)
            u = (rng.standard_normal((cols, cols)) * 0.1).astype(np.float32)
            e = rng.standard_normal((k, rows)).astype(np.float32)
            panels, whole = w.copy(), w.copy()
            offset = (i2 - k) * cols + i2
            for p0 in range(0, rows, 32):
                m = min(32, rows - p0)
                subtract(panels, cols, p0, m, np.ascontiguousarray(e[:, p0:p0 + m]), u, cols, n, k, i2, offset)
            full = rows - rows % 32
            subtract(whole, cols, 0, full, np.ascontiguousarray(e[:, :full]), u, cols, n, k, i2, offset)
            if full < rows:
                subtract(whole, cols, full, rows - full, np.ascontiguousarray(e[:, full:]), u, cols, n, k, i2, offset)
            cases += 1
            if not np.array_equal(panels.view(np.uint32), whole.view(np.uint32)):
                differ += 1
                print(f"differ: rows {rows} cols {cols} i2 {i2}: {(panels != whole).sum()} elements")
print(f"{differ} of {cases} shapes differ between 32-row calls and one call")
