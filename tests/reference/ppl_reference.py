#!/usr/bin/env python3
"""Reference perplexity of the float models with transformers, on the GPU machine.

Protocol (../shared/data/README.md): tokenize the whole file as tokenizer(text)
does (special tokens once at the start), cut into non-overlapping windows of
`seqlen` tokens, drop the remainder, ppl = exp(mean NLL over the seqlen-1
predicted tokens of every window). Computed in float32 from the stored fp16
weights (what libgptq's CPU path computes) and in the stored dtype.
Writes one JSON with every (model, file, compute dtype) figure. With
--window-nll N, float32 rows also carry "window_nll": the mean NLL of each of
the first N windows (-1: all), which libgptq's CI compares its prefix against
(tests/core/eval/perplexity_test.cpp) since a whole file is too slow there.
"""
import argparse
import json
import math
import os

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer


def perplexity(model, ids, seqlen, device, keep_windows=0):
    n = len(ids) // seqlen
    nll_sum, count = 0.0, 0
    window_nll = []
    with torch.no_grad():
        for w in range(n):
            x = torch.tensor(ids[w * seqlen:(w + 1) * seqlen], device=device)[None]
            logits = model(x).logits.float()
            logp = torch.log_softmax(logits[0, :-1], dim=-1)
            nll = -logp.gather(1, x[0, 1:, None]).squeeze(1)
            nll_sum += nll.double().sum().item()
            count += nll.numel()
            if keep_windows < 0 or w < keep_windows:
                window_nll.append(nll.double().mean().item())
    return math.exp(nll_sum / count), n, count, window_nll


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", required=True)
    ap.add_argument("--data", nargs="+", required=True)
    ap.add_argument("--seqlen", type=int, default=512)
    ap.add_argument("--out", required=True)
    ap.add_argument("--window-nll", type=int, default=0,
                    help="keep the mean NLL of the first N windows of float32 rows (-1: all)")
    a = ap.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    rows = []
    for model_dir in a.models:
        tok = AutoTokenizer.from_pretrained(model_dir)
        for dtype in (torch.float32, torch.float16):
            model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype).to(device).eval()
            for path in a.data:
                ids = tok(open(path, encoding="utf-8").read())["input_ids"]
                keep = a.window_nll if dtype == torch.float32 else 0
                ppl, windows, tokens, window_nll = perplexity(model, ids, a.seqlen, device, keep)
                rows.append({"model": os.path.basename(os.path.normpath(model_dir)),
                             "file": os.path.basename(path), "compute_dtype": str(dtype).split(".")[-1],
                             "seqlen": a.seqlen, "windows": windows, "tokens": tokens, "ppl": ppl})
                print(rows[-1], flush=True)
                if window_nll:
                    rows[-1]["window_nll"] = window_nll
    info = {"device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
            "torch": torch.__version__, "transformers": __import__("transformers").__version__,
            "rows": rows}
    with open(a.out, "w") as f:
        json.dump(info, f, indent=1)


if __name__ == "__main__":
    main()
