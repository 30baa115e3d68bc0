#!/usr/bin/env python3
"""The accuracy table of the README, measured on the GPU machine.

For one float model: libgptq's `gptq quantize` (the CPU path, timed by its own
report) writes a checkpoint for each configuration below; each checkpoint is
unpacked by the independent numpy reader (load_gptq_checkpoint.py) into a
plain transformers model, and its perplexity is computed in float32 on every
text with the project's protocol (ppl_reference.py). The same configuration
is then run through the PyTorch reference pipeline (gptq_pipeline_ref.py,
the very same calibration windows) and evaluated the same way; the ratio of
the two perplexities is what "matches the reference within 1%" means.
The FP16 row is the float model itself, computed in float32.

    python3 tests/reference/accuracy_table.py --gptq build/default/bin/gptq \
        --model MODEL_DIR --calib docs_calib.txt --texts wikitext2_test.txt docs_heldout.txt \
        --work /tmp/acc --out bench/results/accuracy-MODEL.json [--threads 16]
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np
import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gptq_pipeline_ref as pipeline  # noqa: E402
import load_gptq_checkpoint as ckpt  # noqa: E402
from accuracy_configs import CONFIGS, table_rows  # noqa: E402



def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def our_checkpoint(a, name, method, bits, group, act, sym, out):
    cmd = [a.gptq, "quantize", a.model, "--out", out, "--force", "--json", "--bits", str(bits),
           "--group-size", str(group), "--method", method, "--threads", str(a.threads),
           "--damp", "0.01",  # the protocol's damping, as the reference pipeline's
           "--act-order" if act else "--no-act-order"]
    if method == "gptq":
        cmd += ["--calib", a.calib, "--nsamples", str(a.nsamples), "--seqlen", str(a.seqlen),
                "--seed", str(a.seed)]
    if not sym:
        cmd.append("--asym")
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{name}: {' '.join(cmd)} failed:\n{p.stderr[-2000:]}")
    return json.loads(p.stdout)


def perplexity(model, ids, seqlen, device, batch=32):
    """The project's protocol (ppl_reference.py), windows run in batches."""
    n = len(ids) // seqlen
    x_all = torch.tensor(ids[:n * seqlen], device=device).view(n, seqlen)
    nll_sum = 0.0
    with torch.no_grad():
        for i in range(0, n, batch):
            x = x_all[i:i + batch]
            logp = torch.log_softmax(model(x).logits.float()[:, :-1], dim=-1)
            nll_sum += -logp.gather(2, x[:, 1:, None]).double().sum().item()
    return float(np.exp(nll_sum / (n * (seqlen - 1))))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gptq", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--calib", required=True)
    ap.add_argument("--texts", nargs="+", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--nsamples", type=int, default=128)
    ap.add_argument("--seqlen", type=int, default=512)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rows", default="0-11",
                    help="which rows: 0 is FP16, 1-11 the CONFIGS in order (e.g. 0-5 or 6,7)")
    a = ap.parse_args()
    wanted = table_rows(a.rows)
    device = "cuda"
    os.makedirs(a.work, exist_ok=True)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    tok = AutoTokenizer.from_pretrained(a.model)
    model_type = AutoConfig.from_pretrained(a.model).model_type
    texts = {os.path.basename(t): tok(open(t, encoding="utf-8").read())["input_ids"] for t in a.texts}
    windows, offsets = pipeline.calibration_windows(tok, [a.calib], a.seqlen, a.nsamples, a.seed)

    def fresh():
        return AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32).to(device).eval()

    def ppls(model):
        return {name: perplexity(model, ids, a.seqlen, device) for name, ids in texts.items()}

    rows = []
    if 0 in wanted:
        rows.append({"config": "FP16", "ppl": ppls(fresh())})
        print(json.dumps(rows[-1]), flush=True)
        write(a, texts, offsets, rows)
    for i, (name, method, bits, group, act, sym) in enumerate(CONFIGS, start=1):
        if i not in wanted:
            continue
        out = os.path.join(a.work, name.replace(" ", "_"))
        report = our_checkpoint(a, name, method, bits, group, act, sym, out)
        _, _, state, _ = ckpt.dequantized_state(out)
        model = fresh()
        ckpt.load_state(model, state, torch.float32)
        row = {"config": name, "method": method, "bits": bits, "group_size": group, "desc_act": act,
               "sym": sym, "quantize_seconds": report["seconds"], "peak_rss_bytes": report["peak_rss_bytes"],
               "ppl": ppls(model)}
        del model
        ref = fresh()
        cfg = {"bits": bits, "group_size": group, "desc_act": act, "sym": sym}
        if method == "gptq":
            row["reference_seconds"] = pipeline.quantize(ref, model_type, windows, cfg, device, log=lambda s: None)
        else:
            row["reference_seconds"] = pipeline.rtn(ref, model_type, cfg)
        row["reference_ppl"] = ppls(ref)
        row["ppl_vs_reference"] = {t: row["ppl"][t] / row["reference_ppl"][t] for t in texts}
        del ref
        rows.append(row)
        print(json.dumps(row), flush=True)
        write(a, texts, offsets, rows)  # after every row: a run cut short keeps what it measured


def write(a, texts, offsets, rows):
    # One row per configuration and text in the format of BENCH.md: ours is the
    # perplexity of libgptq's checkpoint, the baseline the reference pipeline's
    # (speedup > 1: ours is lower).
    mname = os.path.basename(os.path.normpath(a.model))
    bench_rows = []
    for r in rows:
        for t in texts:
            row = {"case": f"{mname} {r['config']} {t} seqlen {a.seqlen}", "unit": "ppl",
                   "ours": r["ppl"][t], "config": r["config"], "text": t}
            if "reference_ppl" in r:
                row.update(baseline=r["reference_ppl"][t], baseline_name="torch_reference_pipeline",
                           speedup=r["reference_ppl"][t] / r["ppl"][t])
                row.update({k: r[k] for k in ("quantize_seconds", "reference_seconds", "peak_rss_bytes")})
            else:
                row.update(baseline=None, baseline_name="none: the float model itself")
            bench_rows.append(row)
    result = {
        "bench": "accuracy",
        "model": mname,
        "device": f"{cpu_name()} ({a.threads} threads) quantizes with libgptq's CPU path; "
                  f"{torch.cuda.get_device_name(0)} evaluates (transformers, float32) and runs the reference",
        "commit": os.environ.get("GPTQ_COMMIT", "unknown"),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": " ".join(sys.argv),
        "protocol": {"seqlen": a.seqlen, "calibration": f"{a.nsamples} windows of {a.seqlen} tokens from "
                     f"{os.path.basename(a.calib)}, seed {a.seed}", "calibration_offsets_head": offsets[:8]},
        "torch": torch.__version__,
        "transformers": __import__("transformers").__version__,
        "rows": bench_rows,
    }
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
    print("wrote", a.out)


if __name__ == "__main__":
    t0 = time.time()
    main()
    print(f"{time.time() - t0:.0f} s")
