#!/usr/bin/env python3
"""Prints the README's accuracy table from bench/results/accuracy-*.json
(written by tests/reference/accuracy_table.py on the GPU machine).

One line per configuration; for each model: perplexity of our checkpoint on
each text, its ratio to the PyTorch reference pipeline's (same calibration
windows), and libgptq's quantization time. Several files of one model are
merged, the first holding a configuration wins; a row from a file without a
reference (bench/run_accuracy_cpu.py) is marked with a dagger. With --noise,
files of tests/reference/reference_noise.py add, per model, the reference's
own ratio when its calibration windows are reversed (the noise floor of the
"÷ reference" column).
    python3 bench/accuracy_table_md.py bench/results/accuracy-*-h200.json \
        [--noise bench/results/reference_noise-*-h200.json]
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
from accuracy_configs import CONFIGS  # noqa: E402

ORDER = ["FP16"] + [c[0] for c in CONFIGS]
TEXTS = [("wikitext2_test.txt", "wiki"), ("docs_heldout.txt", "heldout")]


def main(args):
    paths = args[:args.index("--noise")] if "--noise" in args else args
    noise = {}  # model -> {(config, text): reversed / libgptq order}
    for p in args[len(paths) + 1:]:
        d = json.load(open(p))
        noise[d["model"]] = {(r["config"], r["text"]): r["ratio"] for r in d["rows"]}
    docs = []  # one merged document per model, in order of first appearance
    for p in paths:
        d = json.load(open(p))
        cpu_only = all(r.get("baseline") is None for r in d["rows"])
        for r in d["rows"]:
            r["cpu_only"] = cpu_only
        same = [m for m in docs if m["model"] == d["model"]]
        if same:
            have = {(r["config"], r["text"]) for r in same[0]["rows"]}
            same[0]["rows"] += [r for r in d["rows"] if (r["config"], r["text"]) not in have]
        else:
            docs.append(d)
    head = ["configuration"]
    for d in docs:
        head += [f"{d['model']} {short}" for _, short in TEXTS] + ["÷ reference"]
        head += ["reference reversed ÷ reference"] if d["model"] in noise else []
        head += ["quantize"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for config in ORDER:
        cells = [config]
        for d in docs:
            rows = {r["text"]: r for r in d["rows"] if r["config"] == config}
            with_noise = d["model"] in noise
            if not rows:
                cells += ["—"] * (len(TEXTS) + 2 + with_noise)
                continue
            first = rows[TEXTS[0][0]]
            mark = " †" if first["cpu_only"] and config != "FP16" else ""
            cells += [f"{rows[t]['ours']:.2f}{mark}" for t, _ in TEXTS]
            if first.get("baseline"):
                cells.append(" / ".join(f"{rows[t]['ours'] / rows[t]['baseline']:.3f}" for t, _ in TEXTS))
                if with_noise:
                    ratios = [noise[d["model"]].get((config, t)) for t, _ in TEXTS]
                    cells.append(" / ".join(f"{r:.3f}" for r in ratios) if None not in ratios else "")
                secs = first["quantize_seconds"]
                cells.append(f"{secs:.1f} s" if secs >= 1 else f"{secs:.2f} s")
            elif "quantize_seconds" in first:
                secs = first["quantize_seconds"]
                cells += [""] * (1 + with_noise) + [f"{secs:.1f} s †" if secs >= 1 else f"{secs:.2f} s †"]
            else:
                cells += [""] * (2 + with_noise)
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
