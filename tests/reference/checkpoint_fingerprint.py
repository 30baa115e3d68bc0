#!/usr/bin/env python3
"""The fingerprint of a checkpoint that goldens computed from it record: for
every tensor, by name, its dtype, shape and the SHA-256 of its bytes as stored
(tests/support/checkpoint_fingerprint.h computes the same in C++). Standard
library only, with a reader written from the safetensors format, so it runs on
any machine:
    python3 tests/reference/checkpoint_fingerprint.py CKPT_DIR   # prints the JSON
"""
import hashlib
import json
import os
import struct
import sys


def shard_files(ckpt_dir):
    """The safetensors files of a checkpoint: those the index names, else model.safetensors."""
    index = os.path.join(ckpt_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            return sorted(set(json.load(f)["weight_map"].values()))
    return ["model.safetensors"]


def fingerprint(ckpt_dir):
    """{name: {"dtype", "shape", "sha256"}} over every tensor, names sorted."""
    out = {}
    for shard in shard_files(ckpt_dir):
        with open(os.path.join(ckpt_dir, shard), "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(n))
            data = f.read()
        for name, e in header.items():
            if name == "__metadata__":
                continue
            begin, end = e["data_offsets"]
            out[name] = {"dtype": e["dtype"], "shape": e["shape"],
                         "sha256": hashlib.sha256(data[begin:end]).hexdigest()}
    return dict(sorted(out.items()))


if __name__ == "__main__":
    json.dump(fingerprint(sys.argv[1]), sys.stdout, indent=1)
    print()
