#!/usr/bin/env python3
"""Prints the README's accuracy table from bench/results/accuracy-*.json
(written by tests/reference/accuracy_table.py on the GPU machine).

One line per configuration; for each model: perplexity of our checkpoint on
each text, its ratio to the PyTorch reference pipeline's (same calibration
windows), and libgptq's quantization time.
    python3 bench/accuracy_table_md.py bench/results/accuracy-*-h200.json
"""
import json
import sys

ORDER = ["FP16", "RTN w4 per-channel", "RTN w4 g128", "RTN w3 g128", "GPTQ w4 per-channel", "GPTQ w4 g128",
         "GPTQ w4 g128 act-order", "GPTQ w4 g128 asym", "GPTQ w3 g128", "GPTQ w3 g128 act-order", "GPTQ w2 g64",
         "GPTQ w8 per-channel"]
TEXTS = [("wikitext2_test.txt", "wiki"), ("docs_heldout.txt", "heldout")]


def main(paths):
    docs = [json.load(open(p)) for p in paths]
    head = ["configuration"]
    for d in docs:
        head += [f"{d['model']} {short}" for _, short in TEXTS] + ["÷ reference", "quantize"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for config in ORDER:
        cells = [config]
        for d in docs:
            rows = {r["text"]: r for r in d["rows"] if r["config"] == config}
            if not rows:
                cells += ["—"] * (len(TEXTS) + 2)
                continue
            cells += [f"{rows[t]['ours']:.2f}" for t, _ in TEXTS]
            first = rows[TEXTS[0][0]]
            if first.get("baseline"):
                cells.append(" / ".join(f"{rows[t]['ours'] / rows[t]['baseline']:.3f}" for t, _ in TEXTS))
                secs = first["quantize_seconds"]
                cells.append(f"{secs:.1f} s" if secs >= 1 else f"{secs:.2f} s")
            else:
                cells += ["", ""]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
