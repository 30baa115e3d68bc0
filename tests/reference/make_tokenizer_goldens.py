#!/usr/bin/env python3
"""Golden token ids from Hugging Face tokenizers, for tests/core/tokenizer.

Runs where transformers is installed (the GPU machine). For every model directory
given, writes tests/data/tokenizer/goldens-<model>.json:
  hard_cases: every case of hard_cases.json, full ids (with and without special
              tokens) and HF's decode of them (keeping and skipping specials);
  files:      for each text file, the id count, FNV-1a 64 of the ids (int32
              little-endian bytes) and the first/last 256 ids — so the repo holds
              no copy of the data.
With --dump DIR it also writes the full ids of each file as raw int32 LE
(DIR/<model>/<file>.ids) for debugging; those are never committed.

Invalid UTF-8 cases (bytes_hex) are decoded as Python does with
errors="replace" before tokenizing: that is the behaviour libgptq matches.
"""
import argparse
import json
import os
import struct
import sys

from transformers import AutoTokenizer


def fnv1a64(ids):
    h = 0xCBF29CE484222325
    for b in struct.pack("<%di" % len(ids), *ids):
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def case_text(case):
    if "text" in case:
        return case["text"]
    return bytes.fromhex(case["bytes_hex"]).decode("utf-8", errors="replace")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", required=True)
    ap.add_argument("--data", nargs="+", required=True, help="text files")
    ap.add_argument("--cases", required=True)
    ap.add_argument("--out", required=True, help="folder for goldens-<model>.json")
    ap.add_argument("--dump", help="folder for full raw id dumps")
    a = ap.parse_args()
    cases = json.load(open(a.cases, encoding="utf-8"))
    for model_dir in a.models:
        name = os.path.basename(os.path.normpath(model_dir))
        tok = AutoTokenizer.from_pretrained(model_dir)
        assert tok.is_fast, "goldens must come from the Rust tokenizers library"
        out = {"model": name, "tokenizer_class": type(tok).__name__,
               "hard_cases": {}, "files": {}}
        for case in cases:
            text = case_text(case)
            ids = tok(text)["input_ids"]
            ids_ns = tok(text, add_special_tokens=False)["input_ids"]
            out["hard_cases"][case["name"]] = {
                "ids": ids,
                "ids_no_special": ids_ns,
                "decoded": tok.decode(ids, skip_special_tokens=False),
                "decoded_skip": tok.decode(ids, skip_special_tokens=True),
            }
        for path in a.data:
            text = open(path, encoding="utf-8").read()
            ids = tok(text)["input_ids"]
            fname = os.path.basename(path)
            out["files"][fname] = {"count": len(ids), "fnv1a64": fnv1a64(ids),
                                   "first": ids[:256], "last": ids[-256:]}
            if a.dump:
                d = os.path.join(a.dump, name)
                os.makedirs(d, exist_ok=True)
                with open(os.path.join(d, fname + ".ids"), "wb") as f:
                    f.write(struct.pack("<%di" % len(ids), *ids))
            print(f"{name} {fname}: {len(ids)} ids", file=sys.stderr)
        os.makedirs(a.out, exist_ok=True)
        with open(os.path.join(a.out, f"goldens-{name}.json"), "w", encoding="utf-8") as f:
            json.dump(out, f, ensure_ascii=False, indent=None, separators=(",", ":"))
            f.write("\n")


if __name__ == "__main__":
    main()
