#!/usr/bin/env python3
"""Reads a checkpoint written by tests/interop/write_safetensors_sample with the
Python `safetensors` package (and torch), and checks every byte of every tensor,
the index, and the metadata. Exit 0 and a JSON summary on success."""
import json
import os
import sys

import torch
from safetensors import safe_open

DTYPES = ["F32", "F16", "BF16", "F64", "I64", "I32", "I8", "U8", "BOOL"]
TORCH = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
         "F64": torch.float64, "I64": torch.int64, "I32": torch.int32, "I8": torch.int8,
         "U8": torch.uint8, "BOOL": torch.bool}


def main(d):
    index = json.load(open(os.path.join(d, "model.safetensors.index.json")))
    seen = {}
    for shard in sorted(set(index["weight_map"].values())):
        with safe_open(os.path.join(d, shard), framework="pt") as f:
            assert f.metadata().get("writer") == "libgptq", f.metadata()
            for name in f.keys():
                seen[name] = f.get_tensor(name)
    assert set(seen) == set(index["weight_map"]), (sorted(seen), index["weight_map"])
    for t, dt in enumerate(DTYPES):
        x = seen["tensor." + dt]
        assert x.dtype == TORCH[dt], (dt, x.dtype)
        assert tuple(x.shape) == (37, 3 + t), (dt, x.shape)
        raw = x.contiguous().view(torch.uint8).flatten().tolist() if dt != "BOOL" else x.to(torch.uint8).flatten().tolist()
        want = [((k * 7 + 3 * t) % 251) & (1 if dt == "BOOL" else 0xFF) for k in range(len(raw))]
        assert raw == want, f"{dt}: bytes differ"
    total = sum(x.numel() * x.element_size() for x in seen.values())
    assert index["metadata"]["total_size"] == total, (index["metadata"], total)
    print(json.dumps({"ok": True, "tensors": len(seen),
                      "shards": len(set(index["weight_map"].values())), "total_size": total}))


if __name__ == "__main__":
    main(sys.argv[1])
