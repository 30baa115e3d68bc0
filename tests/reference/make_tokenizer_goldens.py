#!/usr/bin/env python3
"""Golden tokenizer outputs from transformers, for tests/core/tokenizer/.

    python3 tests/reference/make_tokenizer_goldens.py --model ../shared/models/docs-llama-16m \
        --data ../shared/data --out tests/data/tokenizer/goldens-docs-llama-16m.json \
        [--dump-dir /work/goldens/tokenizer]

For every case of tests/data/tokenizer/hard_cases.json ({"name", "text"} or
{"name", "bytes_hex"}; bytes are decoded with errors="replace", as our encode() does
with invalid UTF-8):
  ids            tokenizer(text)["input_ids"]
  ids_no_special tokenizer(text, add_special_tokens=False)["input_ids"]
  decoded        tokenizer.decode(ids, skip_special_tokens=False)
  decoded_skip   tokenizer.decode(ids, skip_special_tokens=True)
  tokens         tokenizer.convert_ids_to_tokens(ids) (for reading failures only)
For each text file of --data (read as bytes, decoded as UTF-8): tokenizer(text) ids as
count, FNV-1a 64 over the ids as int32 little-endian bytes, the first and last 256.
With --dump-dir, the full ids go to <dump-dir>/<model>/<file>.ids (int32 LE); those
dumps are for debugging and are not committed.
"""
import argparse
import json
import os
import struct

FILES = ["wikitext2_test.txt", "docs_heldout.txt", "docs_calib.txt"]


def fnv1a64(data: bytes) -> str:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--cases", default=os.path.join(os.path.dirname(__file__), "..", "data",
                                                    "tokenizer", "hard_cases.json"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--dump-dir")
    args = ap.parse_args()

    import tokenizers
    import transformers
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(args.model)
    model = os.path.basename(os.path.normpath(args.model))
    with open(args.cases, encoding="utf-8") as f:
        cases = json.load(f)

    result = {
        "model": model,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "tokenizer_class": type(tok).__name__,
        "hard_cases": {},
        "files": {},
    }
    for case in cases:
        if "bytes_hex" in case:
            text = bytes.fromhex(case["bytes_hex"]).decode("utf-8", errors="replace")
        else:
            text = case["text"]
        ids = tok(text)["input_ids"]
        result["hard_cases"][case["name"]] = {
            "ids": ids,
            "ids_no_special": tok(text, add_special_tokens=False)["input_ids"],
            "decoded": tok.decode(ids, skip_special_tokens=False),
            "decoded_skip": tok.decode(ids, skip_special_tokens=True),
            "tokens": tok.convert_ids_to_tokens(ids),
        }
    for name in FILES:
        path = os.path.join(args.data, name)
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
        ids = tok(text)["input_ids"]
        raw = struct.pack(f"<{len(ids)}i", *ids)
        result["files"][name] = {
            "count": len(ids),
            "fnv1a64": fnv1a64(raw),
            "first": ids[:256],
            "last": ids[-256:],
        }
        if args.dump_dir:
            d = os.path.join(args.dump_dir, model)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, name + ".ids"), "wb") as f:
                f.write(raw)
        print(f"{model} {name}: {len(ids)} ids")
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
