#!/usr/bin/env python3
"""PyTorch reference of the whole-model GPTQ pipeline, over transformers.

The layer-wise procedure of the GPTQ paper (arXiv:2210.17323) as its published
code runs it, written for libgptq's accuracy checks: the calibration windows
are run to the first decoder layer; for each layer, the inputs of each group of
linears are collected in true-sequential order (llama: q,k,v -> o -> up,gate ->
down; opt: q,k,v -> out -> fc1 -> fc2), each linear is quantized with
tests/reference/gptq_ref.py's solver, and the layer's outputs with the
quantized weights become the next layer's inputs. Hessians count samples
(windows), as the published add_batch does and libgptq does.

The windows are the very ones libgptq cuts (tests/reference/calibration_ref.py:
same tokenization, same SplitMix64 offsets), so a difference in perplexity is
a difference in the pipeline, not in the data. The weights left in the model
are what a checkpoint holds: scales rounded to fp16, W = scale[g] * (q - zero).

Needs torch and transformers (the GPU machine); used by accuracy_table.py.
"""
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import calibration_ref  # noqa: E402
import gptq_ref  # noqa: E402

SEQUENTIAL = {
    "llama": [["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"], ["self_attn.o_proj"],
              ["mlp.up_proj", "mlp.gate_proj"], ["mlp.down_proj"]],
    "opt": [["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"], ["self_attn.out_proj"],
            ["fc1"], ["fc2"]],
}
SEQUENTIAL["mistral"] = SEQUENTIAL["qwen2"] = SEQUENTIAL["llama"]


def decoder_layers(model):
    inner = model.model
    return inner.decoder.layers if hasattr(inner, "decoder") else inner.layers


def calibration_windows(tok, files, seqlen, nsamples, seed):
    """Token windows [nsamples, seqlen] exactly as libgptq draws them."""
    text = "\n\n".join(open(f, encoding="utf-8").read() for f in files)
    ids = tok(text)["input_ids"]
    offsets = calibration_ref.window_offsets(len(ids), seqlen, nsamples, seed)
    return torch.tensor([ids[o:o + seqlen] for o in offsets]), offsets


class _Catch(Exception):
    pass


def first_layer_inputs(model, windows, chunk, device):
    """Hidden states entering layer 0, per chunk of windows, and the layer's
    keyword arguments (mask, rotary tables: the same for every chunk)."""
    layers = decoder_layers(model)
    first = layers[0]
    seen = {"x": [], "kwargs": None}

    class Catcher(torch.nn.Module):
        def __init__(self, wrapped):
            super().__init__()
            self.wrapped = wrapped  # keeps attributes transformers may read

        def forward(self, *args, **kwargs):
            hidden_states = args[0] if args else kwargs.pop("hidden_states")
            seen["x"].append(hidden_states)
            if seen["kwargs"] is None:
                seen["kwargs"] = kwargs
            raise _Catch

    layers[0] = Catcher(first)
    try:
        for i in range(0, len(windows), chunk):
            try:
                model(windows[i:i + chunk].to(device), use_cache=False)
            except _Catch:
                pass
    finally:
        layers[0] = first
    return seen["x"], seen["kwargs"]


def run_layer(layer, xs, kwargs):
    outs = []
    for x in xs:
        y = layer(x, **kwargs)
        outs.append(y[0] if isinstance(y, tuple) else y)
    return outs


class SampleHessian:
    """H = 2/n sum x x^T over all tokens, n counting samples (windows)."""

    def __init__(self, cols, device):
        self.H = torch.zeros(cols, cols, device=device)
        self.n = 0

    def add(self, x, samples):
        x = x.reshape(-1, x.shape[-1]).float()
        self.H *= self.n / (self.n + samples)
        self.n += samples
        x = (2 / self.n) ** 0.5 * x
        self.H += x.t().matmul(x)


def checkpoint_weight(r, K):
    """The weight a checkpoint holds: fp16 scales, codes and zeros by g_idx."""
    g = r["g_idx"].long()
    scales = r["scales"].half().float()[g].t()
    zeros = r["zeros"].float()[g].t()
    return scales * (r["codes"].float() - zeros)


def quantize(model, model_type, windows, cfg, device, chunk=16, log=print):
    """Quantizes `model` in place with GPTQ (cfg: bits, group_size, desc_act,
    sym, damp_percent, static_groups) and returns the total seconds."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    t0 = time.perf_counter()
    groups = SEQUENTIAL[model_type]
    with torch.no_grad():
        xs, kwargs = first_layer_inputs(model, windows, chunk, device)
        for li, layer in enumerate(decoder_layers(model)):
            mods = dict(layer.named_modules())
            for names in groups:
                hess = {n: SampleHessian(mods[n].in_features, device) for n in names}
                hooks = [mods[n].register_forward_hook(
                    lambda m, inp, out, n=n: hess[n].add(inp[0], inp[0].shape[0])) for n in names]
                run_layer(layer, xs, kwargs)
                for h in hooks:
                    h.remove()
                for n in names:
                    lin = mods[n]
                    with torch.device(device):
                        r = gptq_ref.gptq(lin.weight.data.float(), hess[n].H, bits=cfg["bits"],
                                          group_size=cfg["group_size"], sym=cfg["sym"],
                                          desc_act=cfg["desc_act"], static_groups=cfg.get("static_groups", False),
                                          damp_percent=cfg.get("damp_percent", 0.01))
                    lin.weight.data = checkpoint_weight(r, lin.in_features).to(lin.weight.dtype)
                    log(f"ref layer {li} {n}: loss {r['loss']:.4g}")
            xs = run_layer(layer, xs, kwargs)
    if device == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def rtn(model, model_type, cfg):
    """Round-to-nearest of every linear of the decoder layers, in place."""
    t0 = time.perf_counter()
    with torch.no_grad():
        for layer in decoder_layers(model):
            mods = dict(layer.named_modules())
            for n in (n for g in SEQUENTIAL[model_type] for n in g):
                lin = mods[n]
                with torch.device(lin.weight.device):
                    r = gptq_ref.rtn(lin.weight.data.float(), bits=cfg["bits"], group_size=cfg["group_size"],
                                     sym=cfg["sym"])
                lin.weight.data = checkpoint_weight(r, lin.in_features).to(lin.weight.dtype)
    return time.perf_counter() - t0
