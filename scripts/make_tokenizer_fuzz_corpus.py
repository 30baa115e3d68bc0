#!/usr/bin/env python3
"""Seed corpora for the tokenizer fuzzers (tests/fuzz/corpus/tokenizer_{json,encode}/).

tokenizer_json: each test model's tokenizer.json trimmed to a few KB (the first vocab
entries, the merges among them, every other field as is), plus small variants.
tokenizer_encode: the text hard cases, and short excerpts of the data files.

    python3 scripts/make_tokenizer_fuzz_corpus.py ../shared
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")


def trimmed(path, keep=120):
    with open(path, encoding="utf-8") as f:
        t = json.load(f)
    m = t["model"]
    vocab = dict(sorted(m["vocab"].items(), key=lambda kv: kv[1])[:keep])
    merges = []
    for mg in m["merges"]:
        a, b = mg.split(" ") if isinstance(mg, str) else mg
        if a in vocab and b in vocab and a + b in vocab:
            merges.append(mg)
    m["vocab"] = vocab
    m["merges"] = merges
    t["added_tokens"] = [a for a in t["added_tokens"] if a["id"] < keep][:8]
    return t


def main():
    shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared")
    jdir = os.path.join(ROOT, "tests", "fuzz", "corpus", "tokenizer_json")
    edir = os.path.join(ROOT, "tests", "fuzz", "corpus", "tokenizer_encode")
    os.makedirs(jdir, exist_ok=True)
    os.makedirs(edir, exist_ok=True)
    for model in ["docs-llama-16m", "docs-opt-15m"]:
        t = trimmed(os.path.join(shared, "models", model, "tokenizer.json"))
        with open(os.path.join(jdir, model + ".json"), "w", encoding="utf-8") as f:
            json.dump(t, f, ensure_ascii=False)
        # Variants reaching other code: pair merges / ignore_merges / Metaspace / Split.
        v = json.loads(json.dumps(t))
        v["model"]["merges"] = [mg.split(" ") if isinstance(mg, str) else mg for mg in v["model"]["merges"]]
        v["model"]["ignore_merges"] = True
        if model == "docs-llama-16m":
            v["normalizer"] = None
            v["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581",
                                  "prepend_scheme": "first", "split": True}
        else:
            v["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
                 "behavior": "Isolated", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
        with open(os.path.join(jdir, model + "-variant.json"), "w", encoding="utf-8") as f:
            json.dump(v, f, ensure_ascii=False)
    with open(os.path.join(ROOT, "tests", "data", "tokenizer", "hard_cases.json"), encoding="utf-8") as f:
        for case in json.load(f):
            data = case["text"].encode("utf-8") if "text" in case else bytes.fromhex(case["bytes_hex"])
            if data:
                with open(os.path.join(edir, case["name"]), "wb") as f:
                    f.write(data)
    for name in ["wikitext2_test.txt", "docs_heldout.txt"]:
        with open(os.path.join(shared, "data", name), "rb") as f:
            raw = f.read(3000)
        raw = raw[: raw.rfind(b"\n") + 1]
        with open(os.path.join(edir, "excerpt-" + name), "wb") as f:
            f.write(raw)


if __name__ == "__main__":
    main()
