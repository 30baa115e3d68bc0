#!/usr/bin/env python3
"""Independent numpy packer/unpacker of HF GPTQ tensors, from the format facts.

Facts (checked against AutoGPTQ qlinear_cuda_old.py `pack` and GPTQModel):
- qweight int32 [K*b/32, N]: for each output column n, codes q[k, n] along K
  form one little-endian bit stream: code k occupies bits [k*b, k*b + b),
  word (k*b) // 32 of that column. For b = 3 this is the "10 values, a split
  value, 10 values, a split value, 10 values" layout of 3 words per 32 codes.
- qzeros int32 [G, N*b/32]: the same along N for each group.
- v1 ("gptq") stores (zero - 1) & (2^b - 1); v2 ("gptq_v2") stores zero.
- scales fp16 [G, N]; g_idx int32 [K].

Deliberately written with a bit-by-bit loop over the stream (not the word
arithmetic of the C++ code) so the two implementations share no structure.
"""
import numpy as np


def pack_stream(values, bits):
    """values: uint [count, cols] -> int32 [count*bits/32, cols], packing axis 0."""
    count, cols = values.shape
    assert (count * bits) % 32 == 0
    words = np.zeros((count * bits // 32, cols), dtype=np.uint64)
    for b in range(bits):
        bit = ((values.astype(np.uint64) >> np.uint64(b)) & np.uint64(1))  # [count, cols]
        pos = np.arange(count) * bits + b
        for i in range(count):
            words[pos[i] // 32] |= bit[i] << np.uint64(pos[i] % 32)
    return words.astype(np.uint32).view(np.int32)


def unpack_stream(words, bits, count):
    w = words.view(np.uint32).astype(np.uint64)
    out = np.zeros((count, w.shape[1]), dtype=np.uint64)
    for i in range(count):
        for b in range(bits):
            pos = i * bits + b
            out[i] |= ((w[pos // 32] >> np.uint64(pos % 32)) & np.uint64(1)) << np.uint64(b)
    return out.astype(np.int64)


def pack(codes_nk, scales_gn, zeros_gn, g_idx, bits, fmt):
    """codes [N, K], scales float32 [G, N], zeros (true) [G, N] -> dict of tensors."""
    mask = (1 << bits) - 1
    stored = zeros_gn.astype(np.int64) - (1 if fmt == "gptq" else 0)
    stored &= mask
    return dict(
        qweight=pack_stream(codes_nk.T.astype(np.uint64), bits),
        qzeros=pack_stream(stored.T.astype(np.uint64), bits).T.copy(),
        scales=scales_gn.astype(np.float32).astype(np.float16),
        g_idx=g_idx.astype(np.int32),
    )


def unpack(t, bits, fmt, N, K):
    mask = (1 << bits) - 1
    codes = unpack_stream(t["qweight"], bits, K).T
    stored = unpack_stream(t["qzeros"].T.copy(), bits, N).T
    zeros = (stored + (1 if fmt == "gptq" else 0)) & mask
    return codes, zeros


def dequantize(t, bits, fmt, N, K):
    codes, zeros = unpack(t, bits, fmt, N, K)
    g = t["g_idx"]
    s = t["scales"].astype(np.float32)
    return (s[g, :].T * (codes - zeros[g, :].T).astype(np.float32)).astype(np.float32)
