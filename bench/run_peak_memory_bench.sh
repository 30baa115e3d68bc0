#!/bin/sh
# Peak memory of `gptq quantize` against model depth: docs-llama-16m as it is
# (6 layers) and with its blocks repeated to 12 and 24 (tools/make_deep_model.py),
# each quantized on the same calibration. The pipeline streams one block at a time,
# so its peak should be a constant (activations, Hessians) plus one block, whatever
# the depth: a growth per added layer near 0. A growth equal to the checkpoint bytes
# of a block means every block stays resident, i.e. memory grows with the model;
# the rows put the growth per layer beside the size of one block to show which.
# getrusage's maxrss counts the checkpoint's mmap'd pages as well as the heap, so
# /proc/PID/status is sampled during each run to split the peak into anonymous
# memory and file-backed pages. Writes bench/results/quantize_peak_memory-cpu-2core.json.
#
# Env: GPTQ_BIN (default build/default/bin/gptq), GPTQ_SHARED (default ../shared
# beside the repo), THREADS (2), REPS (runs per depth, 3: a 24-layer run takes over
# a minute on 2 cores, so fewer than BENCH.md's 10; maxrss barely varies between runs).
set -e
cd "$(dirname "$0")/.."
GPTQ_BIN=${GPTQ_BIN:-build/default/bin/gptq}
GPTQ_SHARED=${GPTQ_SHARED:-$(dirname "$(pwd)")/shared}
THREADS=${THREADS:-2}
REPS=${REPS:-3}
GPTQ_COMMIT=${GPTQ_COMMIT:-$(git describe --always --dirty 2>/dev/null || echo unknown)}
export GPTQ_BIN GPTQ_SHARED THREADS REPS GPTQ_COMMIT

WORK=$(mktemp -d "${TMPDIR:-/tmp}/peak-memory.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'exit 1' INT TERM
SRC="$GPTQ_SHARED/models/docs-llama-16m"
for n in 12 24; do
  python3 tools/make_deep_model.py "$SRC" "$WORK/llama-${n}l" --layers "$n"
done

python3 - "$WORK" "$SRC" <<'EOF'
import json, os, shutil, statistics, subprocess, sys, time
sys.path.insert(0, "tools")
from make_deep_model import source_tensors

work, src = sys.argv[1], sys.argv[2]
env = os.environ
reps, threads = int(env["REPS"]), env["THREADS"]
models = [(6, src, "docs-llama-16m"), (12, f"{work}/llama-12l", "docs-llama-16m, blocks repeated"),
          (24, f"{work}/llama-24l", "docs-llama-16m, blocks repeated")]
MB = 1e6


def run(model):
    """One quantize run: its report, and the peaks of RssAnon and RssFile sampled
    every 10 ms (a lower bound: a spike between samples is missed)."""
    out = f"{work}/out"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [env["GPTQ_BIN"], "quantize", model, "--out", out,
           "--calib", f"{env['GPTQ_SHARED']}/data/docs_calib.txt",
           "--nsamples", "16", "--seqlen", "512", "--json", "--threads", threads]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    peak = {"RssAnon": 0, "RssFile": 0}
    while p.poll() is None:
        try:
            with open(f"/proc/{p.pid}/status") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key in peak:
                        peak[key] = max(peak[key], int(value.split()[0]) * 1024)
        except OSError:
            pass
        time.sleep(0.01)
    stdout = p.stdout.read()
    if p.wait() != 0:
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode})")
    shutil.rmtree(out)
    return json.loads(stdout), peak


def model_bytes(model):
    return sum(os.path.getsize(os.path.join(model, f)) for f in os.listdir(model)
               if f.endswith(".safetensors"))


def block_bytes(model):
    """Bytes of block 0 as stored in the checkpoint and as the fp32 the pipeline holds."""
    stored = fp32 = 0
    for name, (_, _, shape, begin, end) in source_tensors(model).items():
        if name.startswith("model.layers.0."):
            n = 1
            for d in shape:
                n *= d
            stored, fp32 = stored + end - begin, fp32 + 4 * n
    return stored, fp32


med = statistics.median
block_stored, block_fp32 = block_bytes(src)  # every depth repeats the same blocks
rows, points = [], []
calib = f"16x512 calibration tokens, 4-bit g128, threads={threads}, median of {reps}"
no_baseline = "none: no other quantizer runs on the CPU machine (torch is not installed); compare with the block sizes"
for layers, model, what in models:
    files = model_bytes(model)
    runs = [run(model) for _ in range(reps)]
    rss = [r["peak_rss_bytes"] for r, _ in runs]
    p = {"layers": layers, "rss": med(rss), "anon": med(s["RssAnon"] for _, s in runs),
         "file": med(s["RssFile"] for _, s in runs), "files": files}
    points.append(p)
    rows.append({
        "case": f"{what} ({layers} layers, checkpoint {files / MB:.1f} MB): peak RSS (getrusage maxrss) "
                f"of gptq quantize, {calib}",
        "unit": "MB", "ours": p["rss"] / MB, "baseline": None, "baseline_name": no_baseline,
        "layers": layers, "model_file_MB": files / MB, "one_block_fp32_MB": block_fp32 / MB,
        "one_block_checkpoint_MB": block_stored / MB, "peak_rss_MB_each_run": [x / MB for x in rss],
        "peak_rss_anon_MB_sampled": p["anon"] / MB, "peak_rss_file_MB_sampled": p["file"] / MB,
        "seconds": med(r["seconds"] for r, _ in runs)})

for a, b in zip(points, points[1:]):
    n = b["layers"] - a["layers"]
    grow = lambda k: (b[k] - a[k]) / n / MB
    rows.append({
        "case": f"peak RSS growth per added layer, {a['layers']} -> {b['layers']} layers "
                f"(one block: {block_fp32 / MB:.2f} MB fp32, {block_stored / MB:.2f} MB in the checkpoint)",
        "unit": "MB/layer", "ours": grow("rss"), "baseline": None, "baseline_name": no_baseline,
        "one_block_fp32_MB": block_fp32 / MB, "one_block_checkpoint_MB": block_stored / MB,
        "model_file_growth_MB_per_layer": grow("files"),
        "anon_growth_MB_per_layer_sampled": grow("anon"), "file_growth_MB_per_layer_sampled": grow("file")})

first, last = points[0], points[-1]
n = last["layers"] - first["layers"]
note = (f"From {first['layers']} to {last['layers']} layers peak RSS grows "
        f"{(last['rss'] - first['rss']) / n / MB:.2f} MB per added layer, against "
        f"{(last['files'] - first['files']) / n / MB:.2f} MB of checkpoint per layer and "
        f"{block_fp32 / MB:.2f} MB for one block in fp32. Sampled from /proc: anonymous memory "
        f"grows {(last['anon'] - first['anon']) / n / MB:.2f} MB per layer, file-backed pages "
        f"(the mmap'd checkpoint and the binary) {(last['file'] - first['file']) / n / MB:.2f} MB per layer.")

with open("/proc/cpuinfo") as f:
    device = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "unknown CPU")
record = {"bench": "quantize_peak_memory", "command": "bench/run_peak_memory_bench.sh",
          "commit": env["GPTQ_COMMIT"], "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
          "device": device, "rows": rows, "note": note}
path = "bench/results/quantize_peak_memory-cpu-2core.json"
with open(path, "w") as f:
    json.dump(record, f, indent=2, sort_keys=True)
    f.write("\n")

print(f"{'layers':>6} {'model MB':>9} {'peak RSS MB':>12} {'anon MB':>8} {'file MB':>8} {'s':>7}")
for p, r in zip(points, rows):
    print(f"{p['layers']:>6} {p['files'] / MB:>9.1f} {p['rss'] / MB:>12.1f} {p['anon'] / MB:>8.1f} "
          f"{p['file'] / MB:>8.1f} {r['seconds']:>7.1f}")
print(note)
print(f"wrote {path}")
EOF
