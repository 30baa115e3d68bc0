#!/usr/bin/env python3
"""Joins the rows of several BENCH.md-format files of one bench into one file
(e.g. one tokenizer_bench run per model): merge_bench_json.py OUT IN..."""
import json
import sys

out, inputs = sys.argv[1], sys.argv[2:]
docs = [json.load(open(p)) for p in inputs]
merged = dict(docs[0])
merged["rows"] = [row for d in docs for row in d["rows"]]
merged["command"] = " && ".join(dict.fromkeys(d["command"] for d in docs))
json.dump(merged, open(out, "w"), indent=2)
open(out, "a").write("\n")
