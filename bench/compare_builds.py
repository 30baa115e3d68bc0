#!/usr/bin/env python3
"""The CPU benchmarks of two builds of libgptq, interleaved on one machine in
one run: is the new build slower? For refactors that must not cost speed
(issue 13). Each round runs, for the old build then the new one:
quantize_matrix_bench (Hessian and solve), tokenizer_bench (encode and load
of the real tokenizers), cpu_forward_bench (prefill and decode of both shared
models, when both are there) and one `gptq quantize` of docs-llama-16m. "ours" is the median over
rounds of the new build, "baseline" the old build's; speedup > 1: the new one
is faster.

    python3 bench/compare_builds.py --old /tmp/base/build/default --old-name 25a734f \\
        --new build/default --shared ../shared --rounds 3 \\
        --out bench/results/refactor_speed-cpu-2core.json
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

import bench_json  # bench/bench_json.py: the BENCH.md file writer

HIGHER_IS_BETTER = {"tok/s", "MB/s", "GFLOP/s", "x"}


def binary(build, name):
    for sub in ("bin", "bench"):
        path = os.path.join(build, sub, name)
        if os.path.exists(path):
            return path
    sys.exit(f"{name} not found under {build}/bin or {build}/bench: build it first")


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{p.stdout[-1000:]}{p.stderr[-2000:]}")
    return p.stdout


def bench_rows(cmd, out):
    run(cmd)
    with open(out) as f:
        return {r["case"]: (r["ours"], r["unit"]) for r in json.load(f)["rows"]}


def tokenizers(shared):
    """The real tokenizers of ../shared that are there (a machine may be given a few)."""
    names = [t for t in ("llama3", "qwen2.5", "mistral-v0.1", "gpt2")
             if os.path.isdir(os.path.join(shared, "tokenizers", t))]
    if not names:
        sys.exit(f"no tokenizer under {shared}/tokenizers")
    return [os.path.join(shared, "tokenizers", t) for t in names]


def one_round(build, a, work):
    rows = {}
    out = os.path.join(work, "r.json")
    rows.update(bench_rows([binary(build, "quantize_matrix_bench"), "--threads", str(a.threads), "--reps", "5",
                            "--reps-big", "2", "--json", out], out))
    rows.update(bench_rows([binary(build, "tokenizer_bench"), "--runs", "10", "--out", out,
                            os.path.join(a.shared, "data", "wikitext2_test.txt"), *tokenizers(a.shared)], out))
    if all(os.path.isdir(os.path.join(a.shared, "models", m)) for m in ("docs-llama-16m", "docs-opt-15m")):
        rows.update(bench_rows([binary(build, "cpu_forward_bench"), a.shared, out], out))
    config = os.path.join(work, "q.json")
    with open(config, "w") as f:  # every option spelled out: both builds do the same work
        json.dump({"bits": 4, "group_size": 128, "desc_act": False, "sym": True, "damp_percent": 0.01,
                   "damp_auto_increment": 0.0025, "calibration": {"nsamples": 64, "seqlen": 512, "seed": 0}}, f)
    q = os.path.join(work, "q")
    report = json.loads(run([binary(build, "gptq"), "quantize", os.path.join(a.shared, "models", "docs-llama-16m"),
                             "--out", q, "--force", "--calib", os.path.join(a.shared, "data", "docs_calib.txt"),
                             "--config", config, "--threads", str(a.threads), "--json"]))
    rows[f"gptq quantize docs-llama-16m, 64x512 calibration tokens, 4-bit g128, {a.threads} threads"] = \
        (report["seconds"], "s")
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--old", required=True, help="build directory of the old revision")
    ap.add_argument("--old-name", required=True, help="what the old build is, e.g. its commit")
    ap.add_argument("--new", required=True, help="build directory of the new revision")
    ap.add_argument("--shared", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--device", default=platform.processor() or "cpu")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    runs = {"old": [], "new": []}
    with tempfile.TemporaryDirectory() as work:
        for i in range(a.rounds):
            for side in ("old", "new"):
                runs[side].append(one_round(getattr(a, side), a, work))
                print(f"round {i + 1}/{a.rounds}: {side} done", flush=True)
    rows = []
    for case, (_, unit) in runs["new"][0].items():
        if not all(case in r for r in runs["old"]):
            continue  # a case only the new build measures has no baseline here
        new = statistics.median(r[case][0] for r in runs["new"])
        old = statistics.median(r[case][0] for r in runs["old"])
        speedup = new / old if unit in HIGHER_IS_BETTER else old / new
        rows.append({"case": case, "unit": unit, "ours": new, "baseline": old,
                     "baseline_name": f"libgptq {a.old_name}", "speedup": speedup})
        print(f"{speedup:6.3f}x  {case}: {new:.4g} vs {old:.4g} {unit}")
    bench_json.write(a.out, "compare_builds", a.device, rows,
                     note=f"median of {a.rounds} interleaved rounds (old, new, old, new, ...) in one run")


if __name__ == "__main__":
    main()
