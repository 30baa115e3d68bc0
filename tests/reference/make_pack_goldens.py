#!/usr/bin/env python3
"""Writes tests/data/quant/pack/: inputs and packed tensors of gptq_pack_ref.py
for every bits x format x act-order combination (N=32, K=64, group 32); v1
cases hold zeros 1..2^b-1 only, v2 cases 0..2^b-1.

Per case <name>.bin holds (little-endian), in order:
  codes uint8 [N][K], scales float32 [G][N], zeros int32 [G][N], g_idx int32 [K],
  qweight int32 [K*b/32][N], qzeros int32 [G][N*b/32], scales fp16 [G][N],
  dequant float32 [N][K] (computed from the fp16 scales).
manifest.json lists the cases. Run with /usr/bin/python3 (numpy).
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import gptq_pack_ref as ref  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "data", "quant", "pack")
N, K, GS = 32, 64, 32


def check_3bit_layout():
    """FORMAT.md's (and AutoGPTQ's) description of one 3-bit run of 32 values."""
    v = np.arange(32, dtype=np.uint64).reshape(32, 1) % 8
    w = ref.pack_stream(v, 3).view(np.uint32)[:, 0].astype(np.int64)
    for i in range(10):
        assert (w[0] >> (3 * i)) & 7 == v[i, 0]
        assert (w[1] >> (3 * i + 1)) & 7 == v[11 + i, 0]
        assert (w[2] >> (3 * i + 2)) & 7 == v[22 + i, 0]
    assert ((w[0] >> 30) & 3) | ((w[1] & 1) << 2) == v[10, 0]
    assert ((w[1] >> 31) & 1) | ((w[2] & 3) << 1) == v[21, 0]


def main():
    check_3bit_layout()
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(7)
    cases = []
    for bits in (2, 3, 4, 8):
        for fmt in ("gptq", "gptq_v2"):
            for act in (False, True):
                G = K // GS
                codes = rng.integers(0, 1 << bits, size=(N, K)).astype(np.uint8)
                # v1 never stores a zero of 0 (readers disagree on it; see
                # core/gptq_format/gptq_packing.h): its smallest zero is 1, stored as 0.
                low = 1 if fmt == "gptq" else 0
                zeros = rng.integers(low, 1 << bits, size=(G, N)).astype(np.int32)
                zeros[0, :4] = low
                zeros[0, 4:8] = (1 << bits) - 1  # stored as 2^b - 2 in v1
                scales = (rng.random((G, N)) * 0.02 + 1e-4).astype(np.float32)
                scales[1, :3] = [6.0e-8, 3.0e-5, 2.0e-7]  # fp16 subnormal range
                g_idx = np.arange(K, dtype=np.int32) // GS
                if act:
                    g_idx = g_idx[rng.permutation(K)]
                t = ref.pack(codes, scales, zeros, g_idx, bits, fmt)
                c2, z2 = ref.unpack(t, bits, fmt, N, K)
                assert (c2 == codes).all() and (z2 == zeros).all()
                deq = ref.dequantize(t, bits, fmt, N, K)
                name = f"b{bits}_{fmt}_{'act' if act else 'seq'}"
                with open(os.path.join(OUT, name + ".bin"), "wb") as f:
                    for a in (codes, scales.astype("<f4"), zeros.astype("<i4"), g_idx.astype("<i4"),
                              t["qweight"].astype("<i4"), t["qzeros"].astype("<i4"),
                              t["scales"].astype("<f2"), deq.astype("<f4")):
                        f.write(np.ascontiguousarray(a).tobytes())
                cases.append(dict(name=name, file=name + ".bin", bits=bits, format=fmt, act_order=act,
                                  out_features=N, in_features=K, groups=G))
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump({"generator": "tests/reference/make_pack_goldens.py", "cases": cases}, f, indent=1)
    print(len(cases), "cases")


if __name__ == "__main__":
    main()
