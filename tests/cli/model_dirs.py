"""Model directories for the CLI tests: the shared test models read and written
back (changed as a test needs) with numpy, and the gptq binary (gptq_cli) run on them.
Safetensors are read and written from the format itself (8-byte header
length, JSON header, raw little-endian data), independently of libgptq."""
import json
import os
import shutil
import struct
import sys
import tempfile

import numpy as np

from gptq_cli import REPO, run

sys.path.insert(0, os.path.join(REPO, "tests", "reference"))
from load_gptq_checkpoint import read_checkpoint  # noqa: E402,F401  (for the tests: index or single file, name -> array)

DTYPES = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16", np.dtype(np.int32): "I32",
          np.dtype(np.int64): "I64", np.dtype(np.int16): "I16", np.dtype(np.int8): "I8"}


def write_safetensors(path, tensors, metadata=None):
    """name -> numpy array, in name order, 8-byte aligned as the Python package writes."""
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        raw = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": DTYPES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)


def write_sharded(directory, tensors, shards):
    """model-0000i-of-0000n.safetensors + model.safetensors.index.json, names
    dealt to the shards in name order."""
    names = sorted(tensors)
    per = -(-len(names) // shards)
    weight_map = {}
    for i in range(shards):
        file = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        part = {n: tensors[n] for n in names[i * per:(i + 1) * per]}
        write_safetensors(os.path.join(directory, file), part)
        weight_map.update({n: file for n in part})
    total = sum(int(np.asarray(a).nbytes) for a in tensors.values())
    with open(os.path.join(directory, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f)


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)


class TempDirs:
    """Directories under one temporary root, removed by cleanup()."""

    def __init__(self, tag):
        self.root = tempfile.mkdtemp(prefix=f"gptq_{tag}_")

    def new(self, name, source=None, files=("config.json", "tokenizer.json", "tokenizer_config.json")):
        """An empty directory, or one holding `files` copied from `source`."""
        d = os.path.join(self.root, name)
        os.makedirs(d)
        for f in files if source else ():
            if os.path.exists(os.path.join(source, f)):
                shutil.copy(os.path.join(source, f), d)
        return d

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)


def perplexity(model_dir, text, windows=3, seqlen=64):
    p = run("eval", model_dir, "--ppl", text, "--seqlen", str(seqlen), "--max-windows", str(windows), "--json",
            check_rc=0)
    return json.loads(p.stdout)["ppl"]

