#!/usr/bin/env bash
# On the GPU machine, from the repo root: one of the 7B-shaped end-to-end
# benchmarks, on the binaries of a bundle made here by
#   scripts/device/bundle.sh build/default .carry/bundle cuda_generate_bench
# (.carry/bundle.tar.xz and .carry/deps carried):
#   generate: issue 15, bench/run_cuda_e2e_bench.py (our decode/prefill, then
#             transformers fp16 on the same GPU) -> $OUT/cuda_e2e-h200.json
#   quantize: issue 16, bench/run_cuda_quantize_7b_bench.py (gptq quantize
#             --backend cuda, 128 x 2048 tokens) -> $OUT/cuda_quantize_7b-h200.json
# SHARED (default .carry/shared-e2e) holds tokenizers/mistral-v0.1/ and
# data/docs_calib.txt as ../shared does. The random checkpoints go to WORK
# (default /tmp/gptq-7b; made once, reused by a later call on the same
# machine). GPTQ_COMMIT names the measured commit (the copy has no .git).
# Options after the kind go to the driver (e.g. --layers 4).
#   GPTQ_COMMIT=<commit> scripts/device/e2e_bench.sh DIR generate|quantize [options...]
set -uo pipefail
dir=${1:?usage: e2e_bench.sh DIR generate|quantize [options...]} kind=${2:?generate or quantize}
shift 2
source scripts/device/bundle_env.sh "$dir" || exit 1
shared=$(realpath "${SHARED:-.carry/shared-e2e}") work=${WORK:-/tmp/gptq-7b} out=${OUT:-/tmp/out}
mkdir -p "$out" "$work"
export GPTQ_COMMIT=${GPTQ_COMMIT:-unknown}
nvidia-smi --query-gpu=name,driver_version,memory.used,memory.total --format=csv,noheader
df -h "$work" | tail -1
case $kind in
  generate)
    python3 -B bench/run_cuda_e2e_bench.py --bench "$BUNDLE/bin/cuda_generate_bench" --work "$work" \
      --tokenizer "$shared/tokenizers/mistral-v0.1" --out "$out/cuda_e2e-h200.json" "$@" 2>&1 | tee "$out/generate.log" ;;
  quantize)
    python3 -B bench/run_cuda_quantize_7b_bench.py --gptq "$BUNDLE/bin/gptq" --calib "$shared/data/docs_calib.txt" \
      --work "$work" --tokenizer "$shared/tokenizers/mistral-v0.1" --out "$out/cuda_quantize_7b-h200.json" "$@" \
      2>&1 | tee "$out/quantize.log" ;;
  *) echo "e2e_bench.sh: the kind is generate or quantize, not '$kind'" >&2; exit 2 ;;
esac
