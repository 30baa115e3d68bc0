#!/usr/bin/env bash
# Builds the seed corpora of the fuzz targets in tests/fuzz/corpus/<name>/ from
# small real inputs: the shared models' config.json files (and variants for the
# other architectures), and tiny safetensors files whose headers mirror the
# shared models' shards (same names and dtypes, shapes shrunk so each file is a
# few KB). Deterministic; re-run after changing it and commit the result.
#
# Usage: scripts/make-fuzz-corpus.sh [shared-dir]   (default: ../shared beside the repo)
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
shared="${1:-$repo/../shared}"
[[ -d "$shared/models" ]] || { echo "no models in $shared (pass the shared dir)" >&2; exit 1; }

python3 - "$repo/tests/fuzz/corpus" "$shared/models" <<'PY'
import json, os, struct, sys

out, models = sys.argv[1], sys.argv[2]
SIZES = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4, "I8": 1, "U8": 1, "BOOL": 1}

def safetensors(tensors, metadata=None, pad=True):
    """tensors: list of (name, dtype, shape); data is a deterministic byte pattern."""
    header, offset = {}, 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape in tensors:
        n = SIZES[dtype]
        for d in shape:
            n *= d
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * ((8 - len(text) % 8) % 8)
    data = bytes((i * 7 + 1) & 0xFF for i in range(offset))
    return struct.pack("<Q", len(text)) + text + data

def raw(header_text, data_len, length=None):
    text = header_text.encode()
    return struct.pack("<Q", len(text) if length is None else length) + text + bytes(data_len)

def save(target, name, blob):
    os.makedirs(os.path.join(out, target), exist_ok=True)
    with open(os.path.join(out, target, name), "wb") as f:
        f.write(blob)

# --- safetensors_header ------------------------------------------------------
def small(shape):
    return [min(d, 2) for d in shape]

model_dirs = [m for m in sorted(os.listdir(models)) if os.path.isdir(os.path.join(models, m))]
for model in model_dirs:
    for shard in sorted(os.listdir(os.path.join(models, model))):
        if not shard.endswith(".safetensors"):
            continue
        with open(os.path.join(models, model, shard), "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(n))
        meta = header.pop("__metadata__", None)
        entries = sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0])
        # Whole real headers are 2-7 KB; keep the first tensors so seeds stay small.
        tensors = [(k, v["dtype"], small(v["shape"])) for k, v in entries[:24]]
        save("safetensors_header", f"{model}-{shard}", safetensors(tensors, meta))

save("safetensors_header", "every-dtype.safetensors",
     safetensors([(f"t.{d}", d, [2, 3]) for d in SIZES], {"format": "pt"}))
save("safetensors_header", "empty.safetensors", safetensors([]))
save("safetensors_header", "metadata-only.safetensors", safetensors([], {"format": "pt", "k": "v"}))
save("safetensors_header", "zero-size.safetensors",
     safetensors([("e", "F16", [0, 4]), ("s", "I64", []), ("v", "U8", [3])]))
save("safetensors_header", "unpadded.safetensors", safetensors([("a", "F32", [3])], pad=False))
# A few corrupt ones, so the error paths start covered.
save("safetensors_header", "overlap.safetensors", raw(
    '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
    '"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', 12))
save("safetensors_header", "gap.safetensors", raw(
    '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
    '"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}', 12))
save("safetensors_header", "duplicate.safetensors", raw(
    '{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
    '"w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', 2))
save("safetensors_header", "length-past-end.safetensors", raw("{}", 0, length=4096))

# --- model_config ------------------------------------------------------------
configs = {}
for model in model_dirs:
    path = os.path.join(models, model, "config.json")
    if os.path.exists(path):
        with open(path, "rb") as f:
            save("model_config", f"{model}.json", f.read())
        with open(path) as f:
            configs[model] = json.load(f)

llama = configs.get("docs-llama-16m", {"model_type": "llama", "hidden_size": 64,
        "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 128,
        "vocab_size": 100, "max_position_embeddings": 256})
def variant(name, base, drop=(), **fields):
    cfg = {k: v for k, v in base.items() if k not in drop}
    cfg.update(fields)
    save("model_config", name, json.dumps(cfg, indent=2).encode())

variant("llama3-classic-rope.json", llama, drop=("rope_parameters", "dtype"),
        rope_theta=500000.0, torch_dtype="bfloat16", eos_token_id=[1, 2],
        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                      "high_freq_factor": 4.0, "original_max_position_embeddings": 8192})
variant("llama-linear-rope.json", llama, rope_parameters={"rope_type": "linear",
        "rope_theta": 10000.0, "factor": 2.0})
variant("mistral.json", llama, model_type="mistral", sliding_window=4096)
variant("qwen2.json", llama, model_type="qwen2", tie_word_embeddings=True)
variant("llama-gptq.json", llama, quantization_config={"quant_method": "gptq", "bits": 4,
        "group_size": 128, "desc_act": True, "sym": True, "damp_percent": 0.01,
        "true_sequential": True, "static_groups": False, "checkpoint_format": "gptq"})
if "docs-opt-15m" in configs:
    variant("opt-projected.json", configs["docs-opt-15m"], word_embed_proj_dim=128,
            tie_word_embeddings=False, do_layer_norm_before=False)
PY
du -sh "$repo"/tests/fuzz/corpus/*
