"""The random Llama checkpoint a 7B-shaped benchmark runs on: made by
make_random_llama.py under --work, named by its mode and the shape flags given,
and reused by a later run on the same machine (a warm GPU machine keeps /tmp)."""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def random_checkpoint(a, mode, name, flags):
    """The checkpoint for parsed args `a` (a.model when given; else made in
    a.work, with a.tokenizer and the shape flags in `flags` that are set)."""
    if a.model:
        return a.model
    shape = []
    for flag in flags:
        v = getattr(a, flag)
        if v is not None:
            shape += [f"--{flag.replace('_', '-')}", str(v)]
    path = os.path.join(a.work, name + "".join(f"_{k.lstrip('-')}-{v}" for k, v in zip(shape[::2], shape[1::2])))
    if os.path.isfile(os.path.join(path, "config.json")):
        print(f"using {path} (made earlier)", flush=True)
        return path
    os.makedirs(a.work, exist_ok=True)
    cmd = [sys.executable, os.path.join(HERE, "make_random_llama.py"), path, "--mode", mode] + shape
    if a.tokenizer:
        cmd += ["--tokenizer", a.tokenizer]
    t0 = time.time()
    subprocess.run(cmd, check=True)
    print(f"made {path} in {time.time() - t0:.1f} s", flush=True)
    return path
