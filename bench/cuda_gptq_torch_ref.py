#!/usr/bin/env python3
"""The PyTorch reference of GPTQ on the GPU for cuda/quantize/quantize_matrix_bench.cpp:
tests/reference/gptq_ref.py run as written on CUDA tensors (torch's default
device set to cuda), with the phases timed apart. The Hessian is
gptq_ref.Hessian.add_batch over 128 batches of 2048 tokens (fp32 matmul,
TF32 off as torch's default); the factorization and the solve are
gptq_ref.gptq timed through its phase marks: "cholesky" is the damping loop (cholesky, cholesky_inverse,
upper cholesky in float64), "solve" everything else (grids, dead inputs,
act-order, the block loop, the permutation back).

Inputs are those of the C++ bench, from the same formula: element i of a
tensor with seed s is (((i mod p)^2 mod p * 7919 + i * 104729 + s * 15485863)
mod p) / p - 0.5 with p = 1000003 (activations; weights times 0.04). Median of --reps runs after one warm-up.

Usage: python3 bench/cuda_gptq_torch_ref.py --reps 3 --out FILE
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "reference"))
import gptq_ref  # noqa: E402

TOKENS, BATCHES, POOL = 2048, 128, 4
SHAPES = [(4096, 4096), (11008, 4096), (4096, 11008), (14336, 4096)]


def pattern(count, seed, scale):
    p = 1000003
    i = torch.arange(count, dtype=torch.int64)
    q = (i % p) * (i % p) % p
    m = (q * 7919 + i * 104729 + seed * 15485863) % p
    return ((m.double() / p - 0.5) * scale).float()


def sync_time():
    torch.cuda.synchronize()
    return time.perf_counter()


def gptq_phases(W, H, **opts):
    """gptq_ref.gptq with the seconds of its phases: returns (result, cholesky_s, solve_s)."""
    t = {"start": sync_time()}
    res = gptq_ref.gptq(W, H, mark=lambda phase: t.__setitem__(phase, sync_time()), **opts)
    return res, t["solve"] - t["factor"], (t["factor"] - t["start"]) + (t["end"] - t["solve"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    torch.set_default_device("cuda")
    # The reference multiplies in fp32 (torch's default): say so in the log.
    print("torch", torch.__version__, "matmul allow_tf32:", torch.backends.cuda.matmul.allow_tf32, flush=True)
    cases = {}

    def record(name, times):
        cases[name] = {"median_s": statistics.median(times), "reps": len(times)}
        print(f"{name:40s} {1e3 * cases[name]['median_s']:10.2f} ms", flush=True)

    for K in (4096, 11008):
        # fp16 activations (rounded, held as fp32 as AutoGPTQ widens its
        # inputs), then fp32 ones, whose H the solves use.
        for half in (True, False):
            pool = [pattern(TOKENS * K, 1 + b, 1.0).reshape(TOKENS, K) for b in range(POOL)]
            if half:
                pool = [p.half().float() for p in pool]
            times = []
            for r in range(a.reps + 1):
                t0 = sync_time()
                h = gptq_ref.Hessian(K)
                for b in range(BATCHES):
                    h.add_batch(pool[b % POOL])
                t1 = sync_time()
                if r > 0:
                    times.append(t1 - t0)
            record(f"hessian K={K} 128x2048 tokens" + (", fp16 activations" if half else ""), times)
        H = h.H
        del pool
        for N, k in SHAPES:
            if k != K:
                continue
            W = pattern(N * K, 100, 0.04).reshape(N, K)
            for act in (False, True):
                chol, solve = [], []
                for r in range(a.reps + 1):
                    res, c, s = gptq_phases(W, H, bits=4, group_size=128, sym=True, desc_act=act)
                    if r > 0:
                        chol.append(c)
                        solve.append(s)
                shape = f"{N}x{K}" + (" act-order" if act else "")
                print(f"  loss {res['loss']:.6g} damp {res['damp']}", flush=True)
                record(f"cholesky {shape}", chol)
                record(f"solve {shape}", solve)
    with open(a.out, "w") as f:
        json.dump({"torch": torch.__version__, "device": torch.cuda.get_device_name(), "cases": cases}, f, indent=1)


if __name__ == "__main__":
    main()
