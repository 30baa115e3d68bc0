#!/usr/bin/env python3
"""Loads a GPTQ checkpoint written by libgptq into a plain transformers model.

No GPTQ kernel and no GPTQModel/optimum: every quantized linear is unpacked
with the independent numpy packer tests/reference/gptq_pack_ref.py
(qweight/qzeros/scales/g_idx -> W = scales[g] * (q - z), g = g_idx[k]) and put
into the float model's nn.Linear weight; every other tensor is loaded as
stored. The logits it prints and saves are what the checkpoint means, to be
compared with libgptq's own CPU/CUDA forward pass and with transformers'
GPTQ loading of the same directory.

On the GPU machine (torch + transformers):
    python3 load_gptq_checkpoint.py CKPT --out logits.npz \
        --prompt "To create a table in PostgreSQL, use the" --prompt "git commit"
    (--compute-dtype float32 is the default; --device cuda; --source FLOAT_DIR
     also runs the float model for the same prompts and reports the gap.)

Without torch (local smoke test, numpy only):
    python3 load_gptq_checkpoint.py CKPT --dequant-only [--source FLOAT_DIR]
unpacks every layer, checks shapes and the config, and with --source prints
the relative error of each dequantized weight against the float one.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gptq_pack_ref as ref  # noqa: E402

NP_DTYPES = {"F32": np.float32, "F16": np.float16, "I32": np.int32, "I64": np.int64,
             "F64": np.float64, "I8": np.int8, "U8": np.uint8}


def read_safetensors(path):
    """name -> numpy array, with a reader written from the format (BF16 as float32)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        raw = data[b:end]
        if e["dtype"] == "BF16":
            a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            a = np.frombuffer(raw, dtype=np.dtype(NP_DTYPES[e["dtype"]]).newbyteorder("<"))
        out[name] = a.reshape(e["shape"])
    return out


def read_checkpoint(d):
    index = os.path.join(d, "model.safetensors.index.json")
    files = ["model.safetensors"]
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    tensors = {}
    for f in files:
        tensors.update(read_safetensors(os.path.join(d, f)))
    return tensors


def quantization_config(d):
    cfg = json.load(open(os.path.join(d, "config.json")))
    q = cfg.get("quantization_config")
    if not q or q.get("quant_method") != "gptq":
        raise SystemExit(f"{d}: config.json has no GPTQ quantization_config")
    qc = json.load(open(os.path.join(d, "quantize_config.json")))
    assert qc == q, "quantize_config.json differs from config.json's quantization_config"
    return cfg, q


def dequantized_state(d):
    """The float state dict the checkpoint stands for: float32 for unpacked
    linears, stored dtype for the rest. Returns (state, quantized prefixes)."""
    cfg, q = quantization_config(d)
    bits, gs, fmt = q["bits"], q["group_size"], q.get("checkpoint_format", "gptq")
    t = read_checkpoint(d)
    prefixes = sorted(n[: -len(".qweight")] for n in t if n.endswith(".qweight"))
    state = {}
    for p in prefixes:
        qweight, scales = t[p + ".qweight"], t[p + ".scales"]
        N, K = scales.shape[1], qweight.shape[0] * 32 // bits
        G = 1 if gs == -1 else -(-K // gs)
        assert qweight.dtype == np.int32 and t[p + ".qzeros"].dtype == np.int32, p
        assert scales.dtype == np.float16 and scales.shape == (G, N), (p, scales.shape)
        assert t[p + ".qzeros"].shape == (G, N * bits // 32), p
        g_idx = t.get(p + ".g_idx")
        if g_idx is None:
            g_idx = (np.arange(K) // (K if gs == -1 else gs)).astype(np.int32)
        assert g_idx.shape == (K,), p
        parts = {"qweight": qweight, "qzeros": t[p + ".qzeros"], "scales": scales,
                 "g_idx": g_idx}
        state[p + ".weight"] = ref.dequantize(parts, bits, fmt, N, K)
        if p + ".bias" in t:
            state[p + ".bias"] = t[p + ".bias"].astype(np.float32)
    skip = {p + s for p in prefixes for s in (".qweight", ".qzeros", ".scales", ".g_idx", ".bias")}
    for n, a in t.items():
        if n not in skip:
            state[n] = a
    return cfg, q, state, prefixes


def relative_errors(state, prefixes, source):
    src = read_checkpoint(source)
    for p in prefixes:
        w, f = state[p + ".weight"], src[p + ".weight"].astype(np.float32)
        assert w.shape == f.shape, (p, w.shape, f.shape)
        err = np.linalg.norm(w - f) / max(np.linalg.norm(f), 1e-30)
        print(f"{p}: relative error {err:.4f}")


def load_state(model, state, dtype):
    """Puts the checkpoint's float state into a transformers model of its
    architecture; only a tied lm_head and rotary buffers may be left out."""
    import torch

    sd = {n: torch.from_numpy(np.ascontiguousarray(a)).to(dtype) for n, a in state.items()}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    tied = {"lm_head.weight"} if getattr(model.config, "tie_word_embeddings", False) else set()
    assert not unexpected, unexpected
    assert set(missing) <= tied | {n for n in missing if "rotary" in n}, missing
    model.tie_weights()


def run_transformers(d, state, args):
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    dtype = getattr(torch, args.compute_dtype)
    config = AutoConfig.from_pretrained(d)
    # A plain float model: no GPTQ integration may replace the Linear layers.
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    model = AutoModelForCausalLM.from_config(config, torch_dtype=dtype)
    load_state(model, state, dtype)
    model.to(args.device).eval()
    tok = AutoTokenizer.from_pretrained(d)

    source = None
    if args.source:
        source = AutoModelForCausalLM.from_pretrained(args.source, torch_dtype=dtype).to(args.device).eval()
    saved = {}
    with torch.no_grad():
        for i, prompt in enumerate(args.prompt):
            ids = tok(prompt, return_tensors="pt").input_ids.to(args.device)
            logits = model(ids).logits.float()[0]
            saved[f"ids_{i}"] = ids[0].cpu().numpy()
            saved[f"logits_{i}"] = logits.cpu().numpy()
            top = torch.topk(logits[-1], 5).indices.tolist()
            line = {"prompt": prompt, "next_top5": [tok.decode([t]) for t in top]}
            if source is not None:
                ref_logits = source(ids).logits.float()[0]
                saved[f"float_logits_{i}"] = ref_logits.cpu().numpy()
                line["max_abs_logit_gap_vs_float"] = (logits - ref_logits).abs().max().item()
            print(json.dumps(line))
            gen = model.generate(ids, max_new_tokens=args.new_tokens, do_sample=False)
            print("   greedy:", repr(tok.decode(gen[0][ids.shape[1]:])))
    if args.out:
        np.savez(args.out, prompts=np.array(args.prompt), **saved)
        print("saved", args.out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("--prompt", action="append", default=[])
    ap.add_argument("--out")
    ap.add_argument("--source", help="the float model it was quantized from")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--compute-dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    ap.add_argument("--new-tokens", type=int, default=20)
    ap.add_argument("--dequant-only", action="store_true", help="numpy only: unpack and check")
    args = ap.parse_args()
    if not args.prompt:
        args.prompt = ["To create a table in PostgreSQL, use the", "The git commit command",
                       "In Python, a list comprehension"]
    cfg, q, state, prefixes = dequantized_state(args.checkpoint)
    print(json.dumps({"model_type": cfg.get("model_type"), "quantized_linears": len(prefixes),
                      "bits": q["bits"], "group_size": q["group_size"], "desc_act": q["desc_act"],
                      "checkpoint_format": q.get("checkpoint_format", "gptq")}))
    if args.dequant_only:
        if args.source:
            relative_errors(state, prefixes, args.source)
        return
    run_transformers(args.checkpoint, state, args)


if __name__ == "__main__":
    main()
