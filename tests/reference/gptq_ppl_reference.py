#!/usr/bin/env python3
"""The golden of tests/core/eval/gptq_perplexity_test.cpp, on the GPU machine:
the perplexity that the PyTorch reference of the GPTQ pipeline
(gptq_pipeline_ref.py, over transformers, float32, TF32 off) reaches on the
first WINDOWS windows of a text, quantizing the float model with the given
QuantizeConfig on the very calibration windows libgptq draws; and how far that
perplexity moves when only the order of the sums changes (the same windows
reversed, then in seeded random orders): GPTQ's codes depend on rounding, so
the test's band must be at least that wide. The float model's and
round-to-nearest's perplexities on the same windows are recorded to show what
the band separates.

    python3 tests/reference/gptq_ppl_reference.py --model MODEL_DIR --shared SHARED_DIR \\
        --quantize-config q.json --text data/docs_heldout.txt --windows 16 --out ppl_gptq_w4g128_llama.json

q.json is the QuantizeConfig the test runs (calibration files relative to
SHARED_DIR, ../shared for the test). Several --windows counts share the
quantized models: --out then holds "{windows}", replaced by each count.
"""
import argparse
import datetime
import json
import os
import random
import sys

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gptq_pipeline_ref as pipeline  # noqa: E402
from accuracy_table import perplexity  # noqa: E402

PERMUTATIONS = 4  # seeded random window orders, besides the reversed one


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--shared", required=True, help="the folder the config's and --text's paths are relative to")
    ap.add_argument("--quantize-config", required=True)
    ap.add_argument("--text", required=True)
    ap.add_argument("--windows", type=int, nargs="+", required=True)
    ap.add_argument("--seqlen", type=int, default=512)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    device = "cuda"
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    q = json.load(open(a.quantize_config))
    cal = q["calibration"]
    cfg = {k: q[k] for k in ("bits", "group_size", "desc_act", "sym", "damp_percent")}
    tok = AutoTokenizer.from_pretrained(a.model)
    model_type = AutoConfig.from_pretrained(a.model).model_type
    if len(a.windows) > 1 and "{windows}" not in a.out:
        raise SystemExit("several --windows need {windows} in --out")
    ids = tok(open(os.path.join(a.shared, a.text), encoding="utf-8").read())["input_ids"]
    if len(ids) < max(a.windows) * a.seqlen:
        raise SystemExit(f"{a.text} holds fewer than {max(a.windows)} windows of {a.seqlen} tokens")
    windows, offsets = pipeline.calibration_windows(tok, [os.path.join(a.shared, f) for f in cal["files"]],
                                                    cal["seqlen"], cal["nsamples"], cal["seed"])

    def fresh():
        return AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32).to(device).eval()

    def ppl(model):
        """{windows: perplexity on that many windows from the start}"""
        return {w: perplexity(model, ids[:w * a.seqlen], a.seqlen, device) for w in a.windows}

    def gptq_ppl(order):
        model = fresh()
        pipeline.quantize(model, model_type, windows[order], cfg, device, log=lambda s: None)
        return ppl(model)

    n = len(windows)
    rng = random.Random(0)
    perms = [rng.sample(range(n), n) for _ in range(PERMUTATIONS)]
    model = fresh()
    float_ppl = ppl(model)
    pipeline.rtn(model, model_type, cfg)
    rtn_ppl = ppl(model)
    del model
    ref = gptq_ppl(list(range(n)))
    reordered = [gptq_ppl(list(reversed(range(n))))] + [gptq_ppl(p) for p in perms]
    for w in a.windows:
        write(a, w, q, offsets, float_ppl[w], rtn_ppl[w], ref[w], [r[w] for r in reordered])


def write(a, w, q, offsets, float_ppl, rtn_ppl, ref, reordered):
    out = {
        "what": "perplexity of the PyTorch reference GPTQ pipeline (tests/reference/gptq_pipeline_ref.py) on the "
                "first `windows` windows of `text`, calibrated on libgptq's windows for `quantize`; "
                "`reference_reordered_ppl`: the same windows reversed, then in seeded random orders (the same sums "
                "added in other orders); written by tests/reference/gptq_ppl_reference.py",
        "device": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "transformers": __import__("transformers").__version__,
        "commit": os.environ.get("GPTQ_COMMIT", "unknown"),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "model": os.path.basename(os.path.normpath(a.model)),
        "quantize": q,
        "calibration_offsets_head": offsets[:8],
        "text": a.text,
        "seqlen": a.seqlen,
        "windows": w,
        "float_ppl": float_ppl,
        "rtn_ppl": rtn_ppl,
        "reference_ppl": ref,
        "reference_reordered_ppl": reordered,
    }
    print(w, json.dumps({k: v for k, v in out.items() if k.endswith("ppl")}), flush=True)
    with open(a.out.replace("{windows}", str(w)), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
