#!/usr/bin/env python3
"""Rows of the accuracy table measured on this machine's CPU alone: libgptq
quantizes (`gptq quantize`) and evaluates (`gptq eval`, fp32, the project's
perplexity protocol) without torch. The GPU machine's run
(tests/reference/accuracy_table.py) also evaluates with transformers and runs
the PyTorch reference pipeline; this one has no baseline and says so.

    python3 bench/run_accuracy_cpu.py --model ../shared/models/docs-opt-15m \\
        --shared ../shared --rows 3,4 --out bench/results/accuracy-docs-opt-15m-cpu-2core.json
Rows are the numbers of tests/reference/accuracy_table.py (0: FP16).
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
from accuracy_configs import CONFIGS  # noqa: E402
def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{p.stderr[-2000:]}")
    return json.loads(p.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gptq", default="build/default/bin/gptq")
    ap.add_argument("--model", required=True)
    ap.add_argument("--shared", default="../shared")
    ap.add_argument("--rows", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    cfgs = [("FP16", None, 0, 0, False, True)] + CONFIGS
    rows = [int(r) for r in a.rows.split(",")]
    texts = ["wikitext2_test.txt", "docs_heldout.txt"]
    model = os.path.basename(os.path.normpath(a.model))
    doc = json.load(open(a.out)) if os.path.exists(a.out) else {"rows": []}
    for i in rows:
        name, method, bits, group, act, sym = cfgs[i]
        with tempfile.TemporaryDirectory() as tmp:
            target, report = a.model, None
            if method:
                target = os.path.join(tmp, "q")
                cmd = [a.gptq, "quantize", a.model, "--out", target, "--json", "--bits", str(bits),
                       "--group-size", str(group), "--method", method, "--damp", "0.01"]  # as accuracy_table.py
                if method == "gptq":
                    cmd += ["--calib", os.path.join(a.shared, "data", "docs_calib.txt"), "--nsamples", "128",
                            "--seqlen", "512", "--seed", "0"]
                cmd += ["--act-order"] if act else ["--no-act-order"]
                cmd += [] if sym else ["--asym"]
                report = run(cmd)
            for t in texts:
                e = run([a.gptq, "eval", target, "--ppl", os.path.join(a.shared, "data", t), "--seqlen", "512",
                         "--json"])
                row = {"case": f"{model} {name} {t} seqlen 512", "unit": "ppl", "ours": e["ppl"], "config": name,
                       "text": t, "baseline": None,
                       "baseline_name": "none: the reference pipeline needs transformers (GPU machine)"}
                if report:
                    row.update(quantize_seconds=report["seconds"], peak_rss_bytes=report["peak_rss_bytes"])
                doc["rows"] = [r for r in doc["rows"] if r["case"] != row["case"]] + [row]
                print(json.dumps(row), flush=True)
        doc.update({
            "bench": "accuracy", "model": model,
            "device": open("/proc/cpuinfo").read().split("model name")[1].split(":")[1].split("\n")[0].strip()
            + f" ({os.cpu_count()} cores): libgptq quantizes and evaluates (fp32 CPU path)",
            "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                     text=True).stdout.strip() or "unknown",
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "command": "python3 bench/run_accuracy_cpu.py --model " + a.model + " --rows ...",
        })
        with open(a.out, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
