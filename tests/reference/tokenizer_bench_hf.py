#!/usr/bin/env python3
"""HF Python baseline: single-thread encode throughput of the Rust `tokenizers` library
(through its Python binding) on one text file, per model, for machines with Python
tokenizers but no node (the GPU machine; bench/results/tokenizer_encode-h100-host.json).
bench/tokenizer_bench itself runs the npm package of the same library version in the
same run (--npm), which is the baseline of bench/results/tokenizer-cpu-2core.json.

    python3 tests/reference/tokenizer_bench_hf.py --models ../shared/models/docs-llama-16m \
        ../shared/models/docs-opt-15m --text ../shared/data/wikitext2_test.txt \
        --out bench/results/tokenizer-hf-baseline.json

Times only the encode call (`tokenizers.Tokenizer.encode(text)`, special tokens added,
as `tokenizer(text)` does), median of --runs runs after one warm-up run, on one thread
(RAYON_NUM_THREADS=1; a single encode call does not use the thread pool anyway). When
transformers is installed it also times `AutoTokenizer...encode(text)` for reference.
Writes its own JSON (tool, text, per model: count, seconds, mb_per_s_median).
"""
import argparse
import hashlib
import json
import os
import platform
import statistics
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import tokenizers  # noqa: E402


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown cpu"


def time_runs(fn, runs):
    fn()  # warm-up (fills the BPE cache, as our benchmark's warm-up does)
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", required=True)
    ap.add_argument("--text", required=True)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    with open(args.text, "rb") as f:
        raw = f.read()
    text = raw.decode("utf-8", errors="replace")
    mb = len(raw) / 1e6
    result = {
        "tool": f"tokenizers {tokenizers.__version__}",
        "device": cpu_name(),
        "text": os.path.basename(args.text),
        "text_sha256": hashlib.sha256(raw).hexdigest(),
        "bytes": len(raw),
        "runs": args.runs,
        "models": {},
    }
    for model_dir in args.models:
        name = os.path.basename(os.path.normpath(model_dir))
        tok = tokenizers.Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
        count = len(tok.encode(text).ids)
        secs = time_runs(lambda: tok.encode(text), args.runs)
        entry = {
            "count": count,
            "seconds": secs,
            "mb_per_s_median": mb / statistics.median(secs),
        }
        try:
            from transformers import AutoTokenizer

            hf = AutoTokenizer.from_pretrained(model_dir)
            tsecs = time_runs(lambda: hf.encode(text), args.runs)
            entry["transformers"] = {
                "version": __import__("transformers").__version__,
                "seconds": tsecs,
                "mb_per_s_median": mb / statistics.median(tsecs),
            }
        except ImportError:
            pass
        result["models"][name] = entry
        print(f"{name}: {entry['mb_per_s_median']:.2f} MB/s ({count} ids)")
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
