#!/usr/bin/env python3
"""`gptq quantize` of one model on several thread counts, one after another,
written as bench/results/quantize_pipeline_threads-<device>.json (BENCH.md):
"ours" is each run's own `seconds` (its --json report), the baseline the run
on 1 thread. Each row is a whole quantization, measured once.

    python3 bench/run_pipeline_threads_bench.py --gptq build/default/bin/gptq \
        --model MODEL_DIR --calib docs_calib.txt --threads 16 8 4 2 1 \
        --device "CPU of the H200 machine" --out FILE
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import bench_json  # bench/bench_json.py: the BENCH.md file writer


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gptq", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--calib", required=True)
    ap.add_argument("--threads", type=int, nargs="+", required=True)
    ap.add_argument("--nsamples", type=int, default=128)
    ap.add_argument("--seqlen", type=int, default=512)
    ap.add_argument("--device", required=True, help="the machine, in words")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if 1 not in a.threads:
        sys.exit("--threads must include 1: it is the baseline")

    name = os.path.basename(os.path.normpath(a.model))
    case = (f"gptq quantize {name}, {a.nsamples}x{a.seqlen} calibration tokens of "
            f"{os.path.basename(a.calib)}, 4-bit g128")
    runs = {}
    work = tempfile.mkdtemp(prefix="pipeline-threads-")
    try:
        for t in a.threads:
            out = os.path.join(work, f"q{t}")
            cmd = [a.gptq, "quantize", a.model, "--out", out, "--calib", a.calib, "--nsamples", str(a.nsamples),
                   "--seqlen", str(a.seqlen), "--bits", "4", "--group-size", "128", "--threads", str(t), "--json"]
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode != 0:
                sys.exit(f"{' '.join(cmd)} failed:\n{p.stderr[-2000:]}")
            runs[t] = json.loads(p.stdout)
            print(f"--threads {t}: {runs[t]['seconds']:.2f} s", flush=True)
            shutil.rmtree(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    one = runs[1]["seconds"]
    rows = [{"case": f"{case}, --threads {t}", "unit": "s", "ours": r["seconds"], "baseline": one,
             "baseline_name": "the same run on 1 thread", "speedup": one / r["seconds"], "threads": t,
             "peak_rss_MB": r["peak_rss_bytes"] / 1e6} for t, r in runs.items()]
    blas = os.environ.get("OPENBLAS_CORETYPE")
    bench_json.write(a.out, "quantize_pipeline_threads", a.device + (f", OPENBLAS_CORETYPE={blas}" if blas else ""), rows,
                     note="One run per thread count, single measurements (each is a whole quantization).")


if __name__ == "__main__":
    main()
