#!/usr/bin/env python3
"""Reference logits and greedy continuations of the float models with
transformers in float32 (what libgptq's CPU path computes), on the GPU machine.

For each model and prompt (tokenized as tokenizer(prompt), special tokens
added) it records, compactly:
  - input_ids;
  - per position: the argmax id, the max logit and logsumexp of the logits;
  - at the last position: the 32 largest logits (ids and values);
  - 24 greedy tokens from model.generate(do_sample=False) and their text
    (decoded with skip_special_tokens=True), EOS included if it comes.
tests/core/model/logits_reference_test.cpp compares libgptq with it when the
file is there. Usage:
  python3 tests/reference/logits_reference.py --models ../shared/models/docs-llama-16m \
      ../shared/models/docs-opt-15m --out tests/data/reference/logits_fp16_models.json
"""
import argparse
import json
import os

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

PROMPTS = [
    "To create a table in PostgreSQL, use the",
    "The git commit command",
    "In Python, a list comprehension",
    "Robert Boulter is an English film , television and theatre actor .",
]
TOP = 32
NEW_TOKENS = 24


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    out = {"device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
           "torch": torch.__version__, "transformers": __import__("transformers").__version__,
           "compute_dtype": "float32", "top": TOP, "new_tokens": NEW_TOKENS, "models": []}
    for model_dir in a.models:
        tok = AutoTokenizer.from_pretrained(model_dir)
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).to(device).eval()
        entry = {"model": os.path.basename(os.path.normpath(model_dir)), "prompts": []}
        for prompt in PROMPTS:
            ids = tok(prompt)["input_ids"]
            x = torch.tensor([ids], device=device)
            with torch.no_grad():
                logits = model(x).logits[0].double()
                gen = model.generate(x, do_sample=False, max_new_tokens=NEW_TOKENS,
                                     attention_mask=torch.ones_like(x), pad_token_id=tok.eos_token_id)
            new = gen[0, len(ids):].tolist()
            top = torch.topk(logits[-1], TOP)
            entry["prompts"].append({
                "prompt": prompt,
                "input_ids": ids,
                "argmax": logits.argmax(-1).tolist(),
                "max_logit": logits.max(-1).values.tolist(),
                "logsumexp": torch.logsumexp(logits, -1).tolist(),
                "last_top_ids": top.indices.tolist(),
                "last_top_logits": top.values.tolist(),
                "greedy_ids": new,
                "greedy_text": tok.decode(new, skip_special_tokens=True),
            })
            print(entry["model"], repr(prompt), "->", repr(entry["prompts"][-1]["greedy_text"]), flush=True)
        out["models"].append(entry)
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
