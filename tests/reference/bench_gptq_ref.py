#!/usr/bin/env python3
"""Times the torch CPU reference (gptq_ref.py) on the shapes of
bench/quantize_matrix_bench.cpp and writes the medians as JSON for it:

  {"threads": 2, "torch": "1.13...", "cases": {"hessian_batch": {"median_s": .., "reps": ..}, ...}}

Same protocol as the C++ bench: K = 4096, activations are batches of 2048
random tokens (seeded Gaussian); the Hessian is timed per batch update
(add_batch); the solve (bits 4, group 128, act-order, sym) on W 4096x4096 and
11008x4096 with the H of 8 batches. One warm-up run each, then the median.

Usage: /usr/bin/python3 tests/reference/bench_gptq_ref.py --threads 2 --out FILE
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(__file__))
import gptq_ref  # noqa: E402


def timed(fn, reps):
    fn()  # warm-up
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return {"median_s": statistics.median(out), "reps": reps}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", required=True)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--reps-big", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    K, T = 4096, 2048
    pool = [torch.randn(T, K) for _ in range(4)]
    h = gptq_ref.Hessian(K)
    state = {"i": 0}

    def one_batch():
        h.add_batch(pool[state["i"] % 4])
        state["i"] += 1

    cases = {"hessian_batch": timed(one_batch, a.reps)}
    while h.n < 8 * T:
        one_batch()
    H = h.H.clone()
    opts = dict(bits=4, group_size=128, desc_act=True, sym=True)
    for n, reps, name in ((4096, a.reps, "solve_4096x4096"), (11008, a.reps_big, "solve_11008x4096")):
        W = torch.randn(n, K) * 0.02
        cases[name] = timed(lambda: gptq_ref.gptq(W, H, **opts), reps)
        print(name, cases[name], flush=True)
    with open(a.out, "w") as f:
        json.dump({"threads": a.threads, "torch": torch.__version__, "cases": cases}, f, indent=1)


if __name__ == "__main__":
    main()
