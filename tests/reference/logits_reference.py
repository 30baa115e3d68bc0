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
  - with --full-last: every logit at the last position (for a cosine).
tests/core/model/logits_reference_test.cpp compares libgptq with every
tests/data/reference/logits_*.json. Usage:
  python3 tests/reference/logits_reference.py --models ../shared/models/docs-llama-16m \
      ../shared/models/docs-opt-15m --out tests/data/reference/logits_fp16_models.json

A GPTQ checkpoint written by libgptq is run as the float model its weights
stand for (unpacked by load_gptq_checkpoint.py, no GPTQ kernel). With
--quantize-config FILE (the QuantizeConfig it was made with) the entry records
it and the checkpoint's fingerprint (checkpoint_fingerprint.py: every tensor's
SHA-256); the C++ test quantizes the shared model the same way, checks that its
checkpoint has that fingerprint, and compares its logits. Only a checkpoint
every machine makes bit for bit will do (round-to-nearest: `gptq quantize
--method rtn`; GPTQ's codes depend on the CPU's rounding):
  gptq quantize ../shared/models/docs-llama-16m --config q.json --out CKPT   # anywhere
  python3 tests/reference/logits_reference.py --full-last --quantize-config q.json \
      --models CKPT --names docs-llama-16m --out tests/data/reference/logits_rtn_w4g128_llama.json
"""
import argparse
import json
import os
import sys

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checkpoint_fingerprint  # noqa: E402
import load_gptq_checkpoint as ckpt  # noqa: E402

PROMPTS = [
    "To create a table in PostgreSQL, use the",
    "The git commit command",
    "In Python, a list comprehension",
    "Robert Boulter is an English film , television and theatre actor .",
]
TOP = 32
NEW_TOKENS = 24


def load(model_dir, device):
    """The float model, or the float model a GPTQ checkpoint stands for."""
    config = AutoConfig.from_pretrained(model_dir)
    if not hasattr(config, "quantization_config"):
        return AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).to(device).eval()
    delattr(config, "quantization_config")  # a plain model: no GPTQ layer may replace a Linear
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    _, _, state, _ = ckpt.dequantized_state(model_dir)
    ckpt.load_state(model, state, torch.float32)
    return model.to(device).eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--full-last", action="store_true", help="record every logit of the last position")
    ap.add_argument("--quantize-config", help="the QuantizeConfig JSON the checkpoints were made with")
    ap.add_argument("--names", nargs="+", help="model names to record (default: directory names)")
    a = ap.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    out = {"device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
           "torch": torch.__version__, "transformers": __import__("transformers").__version__,
           "compute_dtype": "float32", "top": TOP, "new_tokens": NEW_TOKENS, "models": []}
    for i, model_dir in enumerate(a.models):
        tok = AutoTokenizer.from_pretrained(model_dir)
        model = load(model_dir, device)
        name = a.names[i] if a.names else os.path.basename(os.path.normpath(model_dir))
        entry = {"model": name, "prompts": []}
        if a.quantize_config:
            entry["quantize"] = json.load(open(a.quantize_config))
            entry["checkpoint_tensors"] = checkpoint_fingerprint.fingerprint(model_dir)
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
            if a.full_last:
                entry["prompts"][-1]["last_logits"] = [round(v, 5) for v in logits[-1].tolist()]
            print(entry["model"], repr(prompt), "->", repr(entry["prompts"][-1]["greedy_text"]), flush=True)
        out["models"].append(entry)
    with open(a.out, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
