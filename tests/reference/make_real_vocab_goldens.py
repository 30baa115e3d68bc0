#!/usr/bin/env python3
"""Goldens of the real tokenizers of ../shared/tokenizers (Llama-3, Qwen2.5, Mistral,
Phi-3, GPT-2) from HF tokenizers, through the npm package `tokenizers` (the same Rust
library as the Python package of that version; tests/reference/hf_tokenizers_npm.js).
tests/core/tokenizer/real_vocab_goldens_test.cpp checks ours against them in CI.

    npm install --prefix /work/npm-tok tokenizers@0.23.2
    python3 tests/reference/make_real_vocab_goldens.py --npm /work/npm-tok \\
        --llamacpp-out /path/to/llama.cpp/models

writes
  tests/data/tokenizer/real_vocab_goldens.json: for every family and every case of
      tests/data/tokenizer/real_vocab_cases.json, the ids with and without special
      tokens (ids_no_special null: the same as ids) and HF's decode of the ids (keeping
      and skipping special tokens), with the tokenizers version and each
      tokenizer.json's sha256;
  tests/data/tokenizer/llamacpp_vocab_cases.json (with --llamacpp-out): the ids that
      llama.cpp's repository recorded from the real HF tokenizers
      (models/ggml-vocab-<vocab>.gguf.out, add_special_tokens=False), each with its text
      recovered by HF's decode of them and checked to encode back to exactly those ids
      here (byte-level decode is lossless; for SentencePiece the recovered text is one
      that HF maps to the recorded ids).
Invalid UTF-8 cases (bytes_hex) are decoded with errors="replace" first, as ours does.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
FAMILIES = ["llama3", "qwen2.5", "mistral-v0.1", "phi3-mini", "gpt2"]
# llama.cpp's recorded vocabularies that are one of our families, and the commit of
# ggml-org/llama.cpp (ggerganov/llama.cpp) whose .out file was used.
LLAMACPP = {
    "llama3": ("llama-bpe", "284870c8686e1f8cee9871331675b5ef24031f74"),
    "qwen2.5": ("qwen2", "362f71e454695ca552c2ba1b4ad1fcd0b5f8f30a"),
    "gpt2": ("gpt-2", "492f75ce39dd83d30362ac0b31f6f45413ef5398"),
    "phi3-mini": ("phi-3", "2f9a36a4f9047d464c5506c6a86bb54af952dae5"),
}


def npm(npm_dir, request):
    env = dict(os.environ, NODE_PATH=os.path.join(npm_dir, "node_modules"))
    out = subprocess.run(["node", os.path.join(HERE, "hf_tokenizers_npm.js")], input=json.dumps(request),
                         capture_output=True, text=True, env=env, check=True).stdout
    return json.loads(out)


def case_text(c):
    if "text" in c:
        return c["text"]
    return bytes.fromhex(c["bytes_hex"]).decode("utf-8", errors="replace")


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def compact(r):
    # Most families add no special token, or only around the text: keep the file small.
    if r["ids_no_special"] == r["ids"]:
        r["ids_no_special"] = None
    return r


def write_json(path, doc):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--npm", required=True, help="folder holding node_modules/tokenizers")
    ap.add_argument("--tokenizers", default=os.path.join(ROOT, "..", "shared", "tokenizers"))
    ap.add_argument("--llamacpp-out", help="folder with llama.cpp's ggml-vocab-*.gguf.out files")
    a = ap.parse_args()
    data = os.path.join(ROOT, "tests", "data", "tokenizer")
    with open(os.path.join(data, "real_vocab_cases.json"), encoding="utf-8") as f:
        cases = json.load(f)
    texts = [case_text(c) for c in cases]
    out = {"tool": None, "families": {}}
    for fam in FAMILIES:
        path = os.path.abspath(os.path.join(a.tokenizers, fam, "tokenizer.json"))
        res = npm(a.npm, {"op": "encode", "tokenizer": path, "texts": texts, "decode": True})
        out["tool"] = f"tokenizers {res['version']} (npm package, the Rust library of HF tokenizers)"
        out["families"][fam] = {
            "tokenizer_sha256": sha256(path),
            "cases": {c["name"]: compact(r) for c, r in zip(cases, res["results"]["cases"])},
        }
        print(f"{fam}: {len(cases)} cases", file=sys.stderr)
    write_json(os.path.join(data, "real_vocab_goldens.json"), out)

    if a.llamacpp_out:
        lc = {"source": "ids recorded from the real HF tokenizers in ggml-org/llama.cpp "
                        "models/ggml-vocab-<vocab>.gguf.out (add_special_tokens=False)",
              "families": {}}
        for fam, (vocab, commit) in LLAMACPP.items():
            with open(os.path.join(a.llamacpp_out, f"ggml-vocab-{vocab}.gguf.out"), encoding="utf-8") as f:
                ids = [[int(x) for x in line.split()] for line in f.read().split("\n")[:-1]]
            path = os.path.abspath(os.path.join(a.tokenizers, fam, "tokenizer.json"))
            recovered = npm(a.npm, {"op": "decode", "tokenizer": path, "ids": ids})["results"]
            check = npm(a.npm, {"op": "encode", "tokenizer": path, "texts": recovered})["results"]["cases"]
            for want, got, text in zip(ids, check, recovered):
                if got["ids_no_special"] != want:
                    sys.exit(f"{fam}: recovered text {text!r} does not encode back to {want}")
            lc["families"][fam] = {"vocab": vocab, "commit": commit,
                                   "cases": [{"text": t, "ids": i} for t, i in zip(recovered, ids)]}
            print(f"{fam}: {len(ids)} llama.cpp cases", file=sys.stderr)
        write_json(os.path.join(data, "llamacpp_vocab_cases.json"), lc)


if __name__ == "__main__":
    main()
