#!/usr/bin/env python3
"""Writes a Llama-shaped Hugging Face checkpoint with random weights, for the
end-to-end benchmarks of a 7B-shaped model (issues 15 and 16), which have no
real 7B model to run.

  bench/make_random_llama.py OUT_DIR [--mode float|gptq] [shape options] [--seed N]

Default shape: Llama-2-7B's config (hidden 4096, intermediate 11008, 32 layers,
32 heads, 32 KV heads, vocab 32000, RoPE theta 10000, RMS eps 1e-5, 4096
positions); smaller shapes through the options.
  --mode float: every tensor fp16 (13.5 GB at the default shape), what
                `gptq quantize` takes.
  --mode gptq:  the decoder blocks' linears as a Hugging Face GPTQ checkpoint
                (FORMAT.md: qweight/qzeros/scales/g_idx, checkpoint format v1,
                symmetric, group size 128, no act-order, quantization_config
                in config.json) with random codes; embeddings, norms and
                lm_head fp16. What `gptq generate/eval` and the CUDA runtime
                take.
Weights: normal with std --std (0.02, as transformers initializes Llama), norms
1, so that through 32 blocks the activations stay finite and the attention
scores moderate (q, k entries of std ~1.3 after the RMS norm). GPTQ codes are
uniform in [0, 2^bits) around the symmetric zero 2^(bits-1), with every scale
std / sqrt(E[(q - z)^2]) so the dequantized weights have the same std.

The tokenizer of Mistral-7B-v0.1 (the Llama-2 form, 32000 tokens:
../shared/tokenizers/mistral-v0.1, or --tokenizer DIR) is copied in, so that
libgptq and transformers both load the directory as a model.

Random numbers come from torch, on the GPU when there is one (--device), or
from numpy where torch is not installed (the CI machine:
tests/cli/random_llama_test.py), one generator per tensor seeded from --seed
and the tensor's index: the same seed and device give the same files. Shards
of about --shard-mb MB, written as the HF index names them; the safetensors
files are written here (8-byte header length, JSON header, raw bytes),
tensor by tensor. OUT_DIR must not
exist (or --force); the checkpoint is built in OUT_DIR.partial-PID and
renamed into place when complete.
"""
import argparse
import json
import math
import os
import shutil
import struct
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_TOKENIZER = os.path.join(HERE, "..", "..", "shared", "tokenizers", "mistral-v0.1")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")
TOKENIZER_VOCAB = 32000
LINEARS = (  # (name, rows from, cols from): as HF's Llama names them
    ("self_attn.q_proj", "q", "hidden"),
    ("self_attn.k_proj", "kv", "hidden"),
    ("self_attn.v_proj", "kv", "hidden"),
    ("self_attn.o_proj", "hidden", "q"),
    ("mlp.gate_proj", "intermediate", "hidden"),
    ("mlp.up_proj", "intermediate", "hidden"),
    ("mlp.down_proj", "hidden", "intermediate"),
)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", help="the model directory to write (must not exist, unless --force)")
    p.add_argument("--mode", choices=("float", "gptq"), default="float")
    p.add_argument("--hidden", type=int, default=4096)
    p.add_argument("--intermediate", type=int, default=11008)
    p.add_argument("--layers", type=int, default=32)
    p.add_argument("--heads", type=int, default=32)
    p.add_argument("--kv-heads", type=int, default=32)
    p.add_argument("--vocab", type=int, default=TOKENIZER_VOCAB)
    p.add_argument("--max-positions", type=int, default=4096)
    p.add_argument("--rope-theta", type=float, default=10000.0)
    p.add_argument("--rms-eps", type=float, default=1e-5)
    p.add_argument("--bits", type=int, choices=(4, 8), default=4, help="GPTQ bits (--mode gptq)")
    p.add_argument("--group-size", type=int, default=128, help="GPTQ group size (--mode gptq)")
    p.add_argument("--std", type=float, default=0.02, help="std of the random weights")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--shard-mb", type=float, default=2000.0, help="shard size in MB (1e6 bytes)")
    p.add_argument("--device", choices=("auto", "cuda", "cpu", "numpy"), default="auto",
                   help="where the numbers are drawn: torch on cuda or cpu, or numpy; auto: cuda when torch sees a "
                        "GPU, else torch's cpu, else numpy")
    p.add_argument("--tokenizer", default=DEFAULT_TOKENIZER, help="directory with tokenizer.json and tokenizer_config.json")
    p.add_argument("--force", action="store_true", help="replace OUT_DIR if it exists")
    a = p.parse_args(argv)
    for name in ("hidden", "intermediate", "layers", "heads", "kv_heads", "vocab", "max_positions"):
        if getattr(a, name) <= 0:
            p.error(f"--{name.replace('_', '-')} must be positive, not {getattr(a, name)}")
    if a.hidden % a.heads:
        p.error(f"--hidden {a.hidden} is not a multiple of --heads {a.heads}")
    if a.heads % a.kv_heads:
        p.error(f"--heads {a.heads} is not a multiple of --kv-heads {a.kv_heads}")
    if a.vocab < TOKENIZER_VOCAB:
        p.error(f"--vocab {a.vocab}: the tokenizer has {TOKENIZER_VOCAB} tokens; the vocabulary must hold them")
    if a.mode == "gptq":
        head_dim = a.hidden // a.heads
        for what, k in (("hidden", a.hidden), ("intermediate", a.intermediate), ("q width", a.heads * head_dim)):
            if k % a.group_size:
                p.error(f"--mode gptq: the {what} {k} is not a multiple of --group-size {a.group_size}")
        for what, n in (("kv width", a.kv_heads * head_dim), ("hidden", a.hidden), ("intermediate", a.intermediate)):
            if n % (32 // a.bits):
                p.error(f"--mode gptq: the {what} {n} is not a multiple of {32 // a.bits} (qzeros pack along N)")
    if not (a.std > 0 and math.isfinite(a.std)):
        p.error(f"--std must be finite and positive, not {a.std}")
    if not a.shard_mb > 0:
        p.error(f"--shard-mb must be positive, not {a.shard_mb}")
    for f in TOKENIZER_FILES:
        if not os.path.isfile(os.path.join(a.tokenizer, f)):
            p.error(f"--tokenizer {a.tokenizer}: no {f} there")
    if os.path.exists(a.out) and not a.force:
        p.error(f"{a.out} exists; give --force to replace it")
    return a


def config_json(a):
    head_dim = a.hidden // a.heads
    cfg = {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 1,
        "dtype": "float16",
        "eos_token_id": 2,
        "head_dim": head_dim,
        "hidden_act": "silu",
        "hidden_size": a.hidden,
        "initializer_range": a.std,
        "intermediate_size": a.intermediate,
        "max_position_embeddings": a.max_positions,
        "mlp_bias": False,
        "model_type": "llama",
        "num_attention_heads": a.heads,
        "num_hidden_layers": a.layers,
        "num_key_value_heads": a.kv_heads,
        "pretraining_tp": 1,
        "rms_norm_eps": a.rms_eps,
        "rope_parameters": {"rope_theta": a.rope_theta, "rope_type": "default"},
        "tie_word_embeddings": False,
        "use_cache": True,
        "vocab_size": a.vocab,
    }
    if a.mode == "gptq":
        cfg["quantization_config"] = quantization_config(a)
    return cfg


def quantization_config(a):
    return {
        "quant_method": "gptq",
        "bits": a.bits,
        "group_size": a.group_size,
        "desc_act": False,
        "sym": True,
        "damp_percent": 0.01,
        "true_sequential": True,
        "static_groups": False,
        "checkpoint_format": "gptq",
    }


class TorchDraws:
    """Random tensors from torch on `device`, as numpy arrays."""

    def __init__(self, torch, device):
        self.torch, self.device = torch, device

    def normal(self, shape, seed, std):
        g = self.torch.Generator(device=self.device)
        g.manual_seed(seed)
        # fp32 draws rounded to fp16: CPU torch draws no fp16 normals.
        return (self.torch.randn(shape, generator=g, device=self.device) * std).half().cpu().numpy()

    def words(self, shape, seed):
        g = self.torch.Generator(device=self.device)
        g.manual_seed(seed)
        t = self.torch.randint(-2**31, 2**31, shape, generator=g, device=self.device, dtype=self.torch.int64)
        return t.to(self.torch.int32).cpu().numpy()


class NumpyDraws:
    """Random tensors from numpy's default generator (PCG64)."""

    def normal(self, shape, seed, std):
        return (np.random.default_rng(seed).standard_normal(shape, dtype=np.float32) * np.float32(std)).astype(
            np.float16)

    def words(self, shape, seed):
        return np.random.default_rng(seed).integers(0, 2**32, shape, dtype=np.uint32).view(np.int32)


def draws_for(device):
    """(draws, device name) for --device."""
    if device == "numpy":
        return NumpyDraws(), "numpy"
    try:
        import torch
    except ImportError:
        if device != "auto":
            sys.exit(f"--device {device}: torch is not installed")
        return NumpyDraws(), "numpy"
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return TorchDraws(torch, device), f"torch {device}"


class Tensors:
    """The checkpoint's tensors in HF's order, each made on demand: name, dtype,
    shape and a function returning its bytes."""

    def __init__(self, a, draws):
        self.a, self.draws = a, draws
        self.items = []
        head_dim = a.hidden // a.heads
        widths = {"hidden": a.hidden, "intermediate": a.intermediate, "q": a.heads * head_dim,
                  "kv": a.kv_heads * head_dim}
        self.add_normal("model.embed_tokens.weight", [a.vocab, a.hidden])
        for layer in range(a.layers):
            prefix = f"model.layers.{layer}."
            self.add_ones(prefix + "input_layernorm.weight", [a.hidden])
            for name, rows, cols in LINEARS:
                n, k = widths[rows], widths[cols]
                if a.mode == "float":
                    self.add_normal(prefix + name + ".weight", [n, k])
                else:
                    self.add_gptq(prefix + name, n, k)
            self.add_ones(prefix + "post_attention_layernorm.weight", [a.hidden])
        self.add_ones("model.norm.weight", [a.hidden])
        self.add_normal("lm_head.weight", [a.vocab, a.hidden])

    def seed(self):
        # One generator per tensor: a tensor's values depend on the seed and
        # its index only, not on the shapes drawn before it.
        return self.a.seed * 1_000_003 + len(self.items)

    def add_normal(self, name, shape):
        seed = self.seed()
        self.items.append((name, "F16", shape, lambda: self.draws.normal(shape, seed, self.a.std).tobytes()))

    def add_ones(self, name, shape):
        self.items.append((name, "F16", shape, lambda: np.ones(shape, dtype=np.float16).tobytes()))

    def add_gptq(self, prefix, n, k):
        a = self.a
        groups = k // a.group_size
        per_word = 32 // a.bits
        seed = self.seed()
        # Every bit pattern of a word is a valid run of codes: uniform codes.
        self.items.append((prefix + ".qweight", "I32", [k // per_word, n],
                           lambda: self.draws.words((k // per_word, n), seed).tobytes()))
        # v1 stores z - 1: the symmetric zero 2^(bits-1) as 2^(bits-1) - 1 in every field.
        stored = (1 << (a.bits - 1)) - 1
        word = 0
        for i in range(per_word):
            word |= stored << (i * a.bits)
        word = word - 2**32 if word >= 2**31 else word
        self.items.append((prefix + ".qzeros", "I32", [groups, n // per_word],
                           lambda: np.full((groups, n // per_word), word, dtype=np.int32).tobytes()))
        # E[(q - z)^2] for q uniform in [0, 2^b), z = 2^(b-1): (4^b + 2) / 12.
        scale = a.std / math.sqrt((4**a.bits + 2) / 12)
        self.items.append((prefix + ".scales", "F16", [groups, n],
                           lambda: np.full((groups, n), scale, dtype=np.float16).tobytes()))
        self.items.append((prefix + ".g_idx", "I32", [k],
                           lambda: (np.arange(k, dtype=np.int32) // a.group_size).tobytes()))


DTYPE_BYTES = {"F16": 2, "I32": 4}


def nbytes(dtype, shape):
    return DTYPE_BYTES[dtype] * math.prod(shape)


def shard_plan(items, shard_bytes):
    """Consecutive tensors in shards of at most shard_bytes (one tensor larger than that alone)."""
    shards, current, size = [], [], 0
    for item in items:
        b = nbytes(item[1], item[2])
        if current and size + b > shard_bytes:
            shards.append(current)
            current, size = [], 0
        current.append(item)
        size += b
    if current:
        shards.append(current)
    return shards


def write_shard(path, items):
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, dtype, shape, _ in items:
        b = nbytes(dtype, shape)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + b]}
        offset += b
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name, dtype, shape, make in items:
            data = make()
            if len(data) != nbytes(dtype, shape):
                raise RuntimeError(f"{name}: made {len(data)} bytes, expected {nbytes(dtype, shape)}")
            f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return offset


def main(argv=None):
    a = parse_args(argv)
    draws, device = draws_for(a.device)
    t0 = time.time()
    tensors = Tensors(a, draws)
    shards = shard_plan(tensors.items, int(a.shard_mb * 1e6))
    tmp = f"{a.out.rstrip('/')}.partial-{os.getpid()}"
    os.makedirs(tmp)
    try:
        weight_map, total = {}, 0
        for i, items in enumerate(shards):
            file = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
            total += write_shard(os.path.join(tmp, file), items)
            for name, *_ in items:
                weight_map[name] = file
            print(f"{file}: {len(items)} tensors, {time.time() - t0:.1f} s", flush=True)
        with open(os.path.join(tmp, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
        with open(os.path.join(tmp, "config.json"), "w") as f:
            json.dump(config_json(a), f, indent=2)
        if a.mode == "gptq":
            with open(os.path.join(tmp, "quantize_config.json"), "w") as f:
                json.dump(quantization_config(a), f, indent=2)
        with open(os.path.join(tmp, "generation_config.json"), "w") as f:
            json.dump({"bos_token_id": 1, "eos_token_id": 2}, f, indent=2)
        for name in TOKENIZER_FILES:
            shutil.copyfile(os.path.join(a.tokenizer, name), os.path.join(tmp, name))
        if os.path.exists(a.out):
            shutil.rmtree(a.out)  # --force (checked in parse_args)
        os.rename(tmp, a.out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    print(f"wrote {a.out}: {a.mode}, {a.layers} layers, hidden {a.hidden}, {total / 1e9:.2f} GB of tensors in "
          f"{len(shards)} shards, {time.time() - t0:.1f} s (random numbers on {device})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
