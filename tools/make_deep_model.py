#!/usr/bin/env python3
"""Makes a deeper copy of a Llama-architecture Hugging Face model: N decoder blocks,
block i a byte copy of source block i % L, the same embeddings, final norm and lm_head.

Why: the quantize pipeline claims to hold one block at a time, so its peak memory must
not grow with the number of blocks. The shared models are small and fixed; repeating
their blocks gives models of any depth with the same block size (and a forward pass
that still runs), which is what bench/run_peak_memory_bench.sh measures.

  tools/make_deep_model.py SRC_DIR OUT_DIR --layers N [--max-shard-mb 16]

SRC_DIR holds config.json and model.safetensors or model-*.safetensors with
model.safetensors.index.json. OUT_DIR must not exist; it gets config.json with
num_hidden_layers = N, the weights as model.safetensors (one shard) or shards with an
index, and the tokenizer and generation files copied unchanged. The safetensors format
is read and written by hand (8-byte little-endian header length, JSON header, raw
bytes), so only the standard library is needed; tensors are copied in chunks, never
held whole.
"""
import argparse
import json
import os
import re
import shutil
import struct
import sys

COPIED_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                "tokenizer.model", "generation_config.json")
BLOCK_NAME = re.compile(r"^(model\.layers\.)(\d+)(\..+)$")
COPY_CHUNK = 1 << 20


def read_header(path):
    """The tensors of one safetensors file: name -> (dtype, shape, absolute begin, end)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    tensors = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        begin, end = t["data_offsets"]
        tensors[name] = (t["dtype"], t["shape"], 8 + n + begin, 8 + n + end)
    return tensors


def source_tensors(src):
    """Every tensor of the model in `src`: name -> (file, dtype, shape, begin, end)."""
    index = os.path.join(src, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    out = {}
    for name in files:
        path = os.path.join(src, name)
        for tensor, (dtype, shape, begin, end) in read_header(path).items():
            out[tensor] = (path, dtype, shape, begin, end)
    return out


def deep_tensor_list(tensors, source_layers, layers):
    """(output name, source name) in the order HF saves them: embeddings, blocks, the rest."""
    blocks = {}
    globals_ = []
    for name in sorted(tensors):
        m = BLOCK_NAME.match(name)
        if m:
            blocks.setdefault(int(m.group(2)), []).append(m.group(3))
        else:
            globals_.append(name)
    if sorted(blocks) != list(range(source_layers)):
        sys.exit(f"the source has blocks {sorted(blocks)}, its config says {source_layers}")
    first = [n for n in globals_ if "embed" in n]
    last = [n for n in globals_ if "embed" not in n]
    order = [(n, n) for n in first]
    for i in range(layers):
        j = i % source_layers
        order += [(f"model.layers.{i}{leaf}", f"model.layers.{j}{leaf}") for leaf in blocks[j]]
    return order + [(n, n) for n in last]


def shards(order, tensors, max_bytes):
    """`order` cut greedily into runs of at most max_bytes (a bigger tensor gets its own)."""
    runs, run, size = [], [], 0
    for item in order:
        _, _, _, begin, end = tensors[item[1]]
        if run and size + end - begin > max_bytes:
            runs.append(run)
            run, size = [], 0
        run.append(item)
        size += end - begin
    return runs + [run] if run else runs


def write_shard(path, run, tensors):
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for out_name, src_name in run:
        _, dtype, shape, begin, end = tensors[src_name]
        header[out_name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + end - begin]}
        offset += end - begin
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned, as safetensors writes it
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)) + text)
        for _, src_name in run:
            src, _, _, begin, end = tensors[src_name]
            with open(src, "rb") as f:
                f.seek(begin)
                left = end - begin
                while left:
                    chunk = f.read(min(left, COPY_CHUNK))
                    if not chunk:
                        sys.exit(f"{src}: truncated tensor {src_name}")
                    out.write(chunk)
                    left -= len(chunk)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, required=True, help="decoder blocks of the new model")
    ap.add_argument("--max-shard-mb", type=float, default=16, help="most tensor bytes per shard")
    a = ap.parse_args()
    if a.layers < 1:
        sys.exit("--layers must be at least 1")
    if os.path.exists(a.out):
        sys.exit(f"{a.out} exists; give a new directory")

    with open(os.path.join(a.src, "config.json")) as f:
        config = json.load(f)
    source_layers = config["num_hidden_layers"]
    tensors = source_tensors(a.src)
    order = deep_tensor_list(tensors, source_layers, a.layers)
    runs = shards(order, tensors, int(a.max_shard_mb * 1e6))

    os.makedirs(a.out)
    if len(runs) == 1:
        write_shard(os.path.join(a.out, "model.safetensors"), runs[0], tensors)
    else:
        weight_map = {}
        for i, run in enumerate(runs):
            name = f"model-{i + 1:05d}-of-{len(runs):05d}.safetensors"
            write_shard(os.path.join(a.out, name), run, tensors)
            weight_map.update((out_name, name) for out_name, _ in run)
        params = total = 0
        for _, src_name in order:
            _, _, shape, begin, end = tensors[src_name]
            n = 1
            for d in shape:
                n *= d
            params, total = params + n, total + end - begin
        index = {"metadata": {"total_parameters": params, "total_size": total},
                 "weight_map": dict(sorted(weight_map.items()))}
        with open(os.path.join(a.out, "model.safetensors.index.json"), "w") as f:
            json.dump(index, f, indent=2)
            f.write("\n")

    config["num_hidden_layers"] = a.layers
    if isinstance(config.get("layer_types"), list):  # per-block attention kinds, repeated likewise
        config["layer_types"] = [config["layer_types"][i % source_layers] for i in range(a.layers)]
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    for name in COPIED_FILES:
        if os.path.exists(os.path.join(a.src, name)):
            shutil.copyfile(os.path.join(a.src, name), os.path.join(a.out, name))
    print(f"{a.out}: {a.layers} layers from {source_layers}, {len(runs)} shard(s)")


if __name__ == "__main__":
    main()
