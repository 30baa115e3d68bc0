#!/usr/bin/env python3
"""PyTorch reference of GPTQ (Frantar et al., arXiv:2210.17323) for libgptq's tests.

Written from the paper and structured as the published code structures its
`fasterquant`: blocks with lazy batch updates, act-order, static groups, groups
fitted when their first column is reached, dead inputs, relative damping with
retries. Float32 as the published code, with two documented differences, both
matching core/quant:
- a group's grid is fitted on its columns with all updates of the already
  quantized columns applied, also those of the current block (the published
  code reads W before the block's in-block updates when a group starts
  mid-block);
- the Cholesky factor of H^-1 is computed in float64 and rounded to float32.

Weights are W[N][K] (HF nn.Linear), H is K x K.
"""
import math
import time

import torch


class Grid:
    """Per-row scale and zero of a b-bit grid (the reference Quantizer, perchannel)."""

    def __init__(self, bits, sym=True, mse=False, norm=2.4, grid=100, max_shrink=0.8):
        self.maxq = 2 ** bits - 1
        self.sym, self.mse, self.norm, self.grid, self.max_shrink = sym, mse, norm, grid, max_shrink

    def fit(self, x):
        """x: [rows, count] float32 -> (scale[rows], zero[rows]) float32."""
        zeros = torch.zeros(x.shape[0])
        lo = torch.minimum(x.min(1)[0], zeros)
        hi = torch.maximum(x.max(1)[0], zeros)
        if self.sym:
            hi = torch.maximum(lo.abs(), hi)
            neg = lo < 0
            lo[neg] = -hi[neg]
        flat = (lo == 0) & (hi == 0)
        lo[flat] = -1
        hi[flat] = 1
        # A tensor divisor, not a Python number: on CUDA, PyTorch divides by a
        # CPU scalar as a multiplication by its reciprocal, one ulp off at times,
        # which moves codes and fp16 scales away from the CPU's (and libgptq's).
        maxq = torch.full_like(hi, self.maxq)
        scale = (hi - lo) / maxq
        if self.sym:
            zero = torch.full_like(scale, (self.maxq + 1) / 2)
        else:
            zero = torch.round(-lo / scale)
        if self.mse:
            best = torch.full([x.shape[0]], float("inf"))
            for i in range(int(self.max_shrink * self.grid + 1e-4)):
                p = 1 - i / self.grid
                lo1, hi1 = p * lo, p * hi
                scale1 = (hi1 - lo1) / maxq
                zero1 = zero if self.sym else torch.round(-lo1 / scale1)
                q = dequant(code(x, scale1[:, None], zero1[:, None], self.maxq), scale1[:, None], zero1[:, None])
                err = (q - x).abs().pow(self.norm).sum(1)
                better = err < best
                best[better] = err[better]
                scale = torch.where(better, scale1, scale)
                zero = torch.where(better, zero1, zero)
        return scale, zero


def code(x, scale, zero, maxq):
    return torch.clamp(torch.round(x / scale) + zero, 0, maxq)


def dequant(q, scale, zero):
    return scale * (q - zero)


class Hessian:
    """H = 2/n sum x x^T kept as a running average, as GPTQ's add_batch."""

    def __init__(self, cols, dtype=torch.float32):
        self.H = torch.zeros(cols, cols, dtype=dtype)
        self.n = 0

    def add_batch(self, x, count=None):
        m = x.shape[0] if count is None else count
        x = x.to(self.H.dtype).t()
        self.H *= self.n / (self.n + m)
        self.n += m
        x = math.sqrt(2 / self.n) * x
        self.H += x.matmul(x.t())


def gptq(W, H, bits=4, group_size=-1, sym=True, desc_act=False, static_groups=False,
         damp_percent=0.01, damp_auto_increment=0.0025, block_size=128, mse=False,
         norm=2.4, grid=100, max_shrink=0.8, mark=None):
    """Returns dict(codes [N,K] int, scales [G,N], zeros [G,N], g_idx [K], Q [N,K], loss, damp).
    mark, when given, is called with "factor" as the damping and inverse Cholesky begin, "solve"
    as the block loop begins and "end" after it (bench/cuda_gptq_torch_ref.py times the phases
    so); the arithmetic does not depend on it."""
    mark = mark or (lambda phase: None)
    W = W.clone().float()
    H = H.clone().float()
    N, K = W.shape
    quant = Grid(bits, sym, mse, norm, grid, max_shrink)
    maxq = quant.maxq
    grouped = group_size > 0
    g = group_size if grouped else K
    G = K // g
    scales = torch.zeros(G, N)
    zeros = torch.zeros(G, N)
    if not grouped:
        scales[0], zeros[0] = quant.fit(W)

    dead = torch.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    if grouped and static_groups:
        for gi in range(G):
            scales[gi], zeros[gi] = quant.fit(W[:, gi * g:(gi + 1) * g])

    perm = torch.arange(K)
    if desc_act:
        perm = torch.sort(torch.diag(H), descending=True, stable=True)[1]
        W = W[:, perm]
        H = H[perm][:, perm]

    mark("factor")
    # Damping with retries (GPTQModel's policy), then the upper Cholesky
    # factor of H^-1 the published way, but in float64 rounded once to float32
    # (libgptq's choice: the float32 factor carries ~1e-5 relative error).
    pct = damp_percent
    mean_diag = torch.mean(torch.diag(H))
    while True:
        Hd = H.clone()
        idx = torch.arange(K)
        Hd[idx, idx] += pct * mean_diag
        L, info = torch.linalg.cholesky_ex(Hd.double())
        ok = info.item() == 0
        if ok:
            Hinv = torch.cholesky_inverse(L)
            U, info = torch.linalg.cholesky_ex(Hinv, upper=True)
            U = U.float()
            ok = info.item() == 0
        if ok:
            break
        if damp_auto_increment <= 0 or pct + damp_auto_increment > 1 + 1e-9:
            raise ValueError(f"not positive definite at damp_percent {pct}")
        pct += damp_auto_increment

    mark("solve")
    Q = torch.zeros_like(W)
    codes = torch.zeros_like(W)
    loss = 0.0
    for i1 in range(0, K, block_size):
        i2 = min(i1 + block_size, K)
        n = i2 - i1
        W1 = W[:, i1:i2].clone()
        Err1 = torch.zeros_like(W1)
        U1 = U[i1:i2, i1:i2]
        for i in range(n):
            col = i1 + i
            gi = 0
            if grouped and not static_groups:
                gi = col // g
                if col % g == 0:
                    # The group's current values: in-block columns from W1,
                    # later ones with this block's pending updates applied.
                    cur = W[:, col:col + g].clone()
                    inb = min(i2, col + g) - col
                    cur[:, :inb] = W1[:, i:i + inb]
                    if col + g > i2 and i > 0:
                        cur[:, inb:] -= Err1[:, :i].matmul(U[i1:col, i2:col + g])
                    scales[gi], zeros[gi] = quant.fit(cur)
            elif grouped:
                gi = int(perm[col]) // g
            w = W1[:, i]
            d = U1[i, i]
            c = code(w, scales[gi], zeros[gi], maxq)
            q = dequant(c, scales[gi], zeros[gi])
            codes[:, col] = c
            Q[:, col] = q
            err = (w - q) / d
            loss += float((err.double() ** 2).sum())
            W1[:, i:] -= err.unsqueeze(1).matmul(U1[i, i:].unsqueeze(0))
            Err1[:, i] = err
        W[:, i2:] -= Err1.matmul(U[i1:i2, i2:])

    invperm = torch.argsort(perm)
    codes = codes[:, invperm]
    Q = Q[:, invperm]
    mark("end")
    if not grouped:
        g_idx = torch.zeros(K, dtype=torch.int32)
    elif static_groups:
        g_idx = torch.arange(K, dtype=torch.int32) // g
    else:
        g_idx = (invperm // g).to(torch.int32)
    return dict(codes=codes.to(torch.int32), scales=scales, zeros=zeros.to(torch.int32), g_idx=g_idx,
                Q=Q, loss=loss / 2, damp=pct, perm=perm)


def rtn(W, bits=4, group_size=-1, sym=True, mse=False, norm=2.4, grid=100, max_shrink=0.8):
    N, K = W.shape
    g = group_size if group_size > 0 else K
    quant = Grid(bits, sym, mse, norm, grid, max_shrink)
    codes = torch.zeros(N, K)
    Q = torch.zeros(N, K)
    scales = torch.zeros(K // g, N)
    zeros = torch.zeros(K // g, N)
    for gi in range(K // g):
        s, z = quant.fit(W[:, gi * g:(gi + 1) * g])
        c = code(W[:, gi * g:(gi + 1) * g], s[:, None], z[:, None], quant.maxq)
        codes[:, gi * g:(gi + 1) * g] = c
        Q[:, gi * g:(gi + 1) * g] = dequant(c, s[:, None], z[:, None])
        scales[gi], zeros[gi] = s, z
    return dict(codes=codes.to(torch.int32), scales=scales, zeros=zeros.to(torch.int32),
                g_idx=torch.arange(K, dtype=torch.int32) // g, Q=Q)


if __name__ == "__main__":
    torch.manual_seed(0)
    X = torch.randn(512, 256)
    h = Hessian(256)
    h.add_batch(X)
    W = torch.randn(64, 256)
    r = gptq(W, h.H, bits=4, group_size=32, desc_act=True)
    q = rtn(W, bits=4, group_size=32)
    e = lambda Q: float(((W - Q) @ X.t()).pow(2).sum())
    t = time.time()
    print("gptq err", e(r["Q"]), "rtn err", e(q["Q"]), "loss", r["loss"], "damp", r["damp"])
