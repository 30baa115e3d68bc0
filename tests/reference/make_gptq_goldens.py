#!/usr/bin/env python3
"""Writes tests/data/quant/gptq/: inputs and expected outputs of gptq_ref.py.

Layout (all little-endian): manifest.json lists inputs (raw float32 files with
their shapes) and cases. Each case's .bin holds, in order: codes [N][K]
(original column order; uint8, or for bits <= 4 two per byte, element 2j in
the low nibble of byte j, to keep the repo small), scales float32 [G][N], zeros int32 [G][N], g_idx
int32 [K]. A case may shift its Hessian: H - h_shift * I (float32 arithmetic)
makes an indefinite H that needs damping retries.

Run: /usr/bin/python3 tests/reference/make_gptq_goldens.py  (torch 1.13, CPU)
"""
import itertools
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import gptq_ref  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "data", "quant", "gptq")


def hessian_from(X):
    h = gptq_ref.Hessian(X.shape[1])
    h.add_batch(X)
    return h.H


def correlated_acts(n, k, gen, dirs=8):
    """Gaussian activations plus a few strong shared directions (outlier-ish)."""
    X = torch.randn(n, k, generator=gen)
    B = torch.randn(dirs, k, generator=gen)
    X += torch.randn(n, dirs, generator=gen).matmul(B) * 2.0
    X *= torch.linspace(0.2, 3.0, k)[torch.randperm(k, generator=gen)]  # uneven column scales
    return X


def ill_conditioned(k, gen):
    """H = Q diag(e) Q^T with eigenvalues over 8 decades."""
    Qm, _ = torch.linalg.qr(torch.randn(k, k, generator=gen, dtype=torch.float64))
    e = torch.logspace(0, -8, k, dtype=torch.float64)
    return (Qm * e).matmul(Qm.t()).float() * 10


def write(name, t):
    arr = t.detach().numpy()
    arr.tofile(os.path.join(OUT, name))


def main():
    os.makedirs(OUT, exist_ok=True)
    gen = torch.Generator().manual_seed(1234)
    inputs = {}

    def add_input(name, t):
        t = t.float().contiguous()
        write(name + ".f32", t)
        inputs[name] = {"file": name + ".f32", "shape": list(t.shape)}
        return t

    WA = add_input("w_a", torch.randn(64, 256, generator=gen) * 0.05)
    WB = add_input("w_b", torch.randn(96, 384, generator=gen) * 0.05)
    HA = add_input("h_a_random", hessian_from(correlated_acts(1024, 256, gen)))
    HI = add_input("h_a_illcond", ill_conditioned(256, gen))
    Xr = correlated_acts(96, 256, gen)  # rank 96 < 256
    Xr[:, torch.randperm(256, generator=gen)[:10]] = 0  # dead inputs
    HR = add_input("h_a_rankdef", hessian_from(Xr))
    HB = add_input("h_b_random", hessian_from(correlated_acts(1024, 384, gen)))
    hs = {"h_a_random": HA, "h_a_illcond": HI, "h_a_rankdef": HR, "h_b_random": HB}
    ws = {"w_a": WA, "w_b": WB}

    def cfgs(group):
        for bits, g, desc, sym in itertools.product([2, 3, 4, 8], [-1, group], [False, True], [False, True]):
            for static in ([False, True] if g > 0 else [False]):
                yield dict(bits=bits, group_size=g, desc_act=desc, sym=sym, static_groups=static)

    plan = []
    plan += [("w_a", "h_a_random", c) for c in cfgs(32)]  # the full product
    for i, c in enumerate(cfgs(32)):  # covering subsets on the harder Hessians
        if i % 4 == 0:
            plan.append(("w_a", "h_a_illcond", c))
        if i % 4 == 2:
            plan.append(("w_a", "h_a_rankdef", c))
    for c in [dict(bits=4, group_size=64, desc_act=True, sym=True, static_groups=False),
              dict(bits=3, group_size=64, desc_act=True, sym=False, static_groups=True),
              dict(bits=2, group_size=-1, desc_act=False, sym=False, static_groups=False),
              dict(bits=8, group_size=64, desc_act=False, sym=True, static_groups=False)]:
        plan.append(("w_b", "h_b_random", c))
    # MSE clipping search, and a block size that is not a multiple of the group.
    plan.append(("w_a", "h_a_random", dict(bits=4, group_size=32, desc_act=True, sym=False, static_groups=False, mse=True)))
    plan.append(("w_a", "h_a_illcond", dict(bits=3, group_size=-1, desc_act=False, sym=True, static_groups=False, mse=True)))
    plan.append(("w_a", "h_a_random", dict(bits=4, group_size=64, desc_act=True, sym=True, static_groups=False, block_size=48)))
    plan.append(("w_b", "h_b_random", dict(bits=4, group_size=32, desc_act=False, sym=False, static_groups=False, block_size=40)))

    cases = []
    for wname, hname, c in plan:
        c = dict(c)
        c.setdefault("block_size", 128)
        c.setdefault("mse", False)
        cases.append(dict(kind="gptq", w=wname, h=hname, h_shift=0.0, damp_percent=0.01, **c))
    # Indefinite H: shifted so that 1% damping fails and the retries succeed.
    ev = torch.linalg.eigvalsh(HA.double())
    md = float(torch.mean(torch.diag(HA)))
    shift = float(ev[0]) + 0.0155 * md  # min eigenvalue -> -1.55% of mean diag
    for c in [dict(bits=4, group_size=32, desc_act=True, sym=True, static_groups=False),
              dict(bits=3, group_size=-1, desc_act=False, sym=False, static_groups=False)]:
        cases.append(dict(kind="gptq", w="w_a", h="h_a_random", h_shift=np.float32(shift).item(),
                          damp_percent=0.01, block_size=128, mse=False, **c))
    for c in [dict(bits=4, group_size=32, sym=True), dict(bits=3, group_size=-1, sym=False),
              dict(bits=2, group_size=32, sym=False), dict(bits=8, group_size=-1, sym=True, mse=True)]:
        c.setdefault("mse", False)
        cases.append(dict(kind="rtn", w="w_a", desc_act=False, static_groups=False, **c))

    for i, case in enumerate(cases):
        W = ws[case["w"]]
        if case["kind"] == "gptq":
            H = hs[case["h"]].clone()
            if case["h_shift"]:
                H -= torch.eye(H.shape[0]) * np.float32(case["h_shift"]).item()
            r = gptq_ref.gptq(W, H, bits=case["bits"], group_size=case["group_size"], sym=case["sym"],
                              desc_act=case["desc_act"], static_groups=case["static_groups"],
                              damp_percent=case["damp_percent"], block_size=case["block_size"], mse=case["mse"])
            case["loss"] = r["loss"]
            case["damp_used"] = r["damp"]
        else:
            r = gptq_ref.rtn(W, bits=case["bits"], group_size=case["group_size"], sym=case["sym"], mse=case["mse"])
        name = f"case{i:03d}.bin"
        with open(os.path.join(OUT, name), "wb") as f:
            codes = r["codes"].numpy().astype(np.uint8).reshape(-1)
            if case["bits"] <= 4:
                codes = codes[0::2] | (codes[1::2] << 4)
            f.write(codes.tobytes())
            f.write(r["scales"].numpy().astype("<f4").tobytes())
            f.write(r["zeros"].numpy().astype("<i4").tobytes())
            f.write(r["g_idx"].numpy().astype("<i4").tobytes())
        case["file"] = name
        case["groups"] = int(r["scales"].shape[0])
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump({"generator": "tests/reference/make_gptq_goldens.py", "torch": torch.__version__,
                   "inputs": inputs, "cases": cases}, f, indent=1)
    print(len(cases), "cases")


if __name__ == "__main__":
    main()
