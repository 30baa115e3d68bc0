"""Model directories for the CLI tests: the shared test models read and written
back (changed as a test needs) with numpy, and the gptq binary run on them.
Safetensors are read and written from the format itself (8-byte header
length, JSON header, raw little-endian data), independently of libgptq."""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

import numpy as np

REPO = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "reference"))
from load_gptq_checkpoint import read_checkpoint  # noqa: E402  (index or single file, name -> array)

GPTQ = None  # the binary: each test file sets it from its argv[1]
DTYPES = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16", np.dtype(np.int32): "I32",
          np.dtype(np.int64): "I64", np.dtype(np.int16): "I16", np.dtype(np.int8): "I8"}


def run(*args, check_rc=None):
    p = subprocess.run([GPTQ, *args], capture_output=True, text=True, timeout=300)
    if check_rc is not None and p.returncode != check_rc:
        raise AssertionError(f"gptq {' '.join(args)}: rc {p.returncode} != {check_rc}\n"
                             f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def shared(rel):
    base = os.environ.get("GPTQ_SHARED_DIR", "")
    path = os.path.join(base, rel)
    if not os.path.exists(path):
        if os.environ.get("CI") == "true":
            raise AssertionError(f"CI=true but the shared test file is missing: {path}")
        raise unittest.SkipTest(f"shared test file missing (skipped outside CI): {path}")
    return path


def sanitized():
    return os.environ.get("GPTQ_SANITIZED") == "1"


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


def read_json(path):
    with open(path) as f:
        return json.load(f)


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

