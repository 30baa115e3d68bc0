#!/bin/sh
# On the GPU machine: the torch reference of the algorithm on the GPU
# (bench/cuda_gptq_torch_ref.py), then the CUDA quantizer's bench with it as
# the baseline, writing $RESULT (default
# bench/results/cuda_quantize_matrix-h200.json).
#   BENCH=build/default/bin/cuda_quantize_matrix_bench PYTHON=python3 bench/run_cuda_quantize_matrix_bench.sh
set -e
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
BENCH=${BENCH:-build/default/bin/cuda_quantize_matrix_bench}
RESULT=${RESULT:-bench/results/cuda_quantize_matrix-h200.json}
REPS=${REPS:-5}
TORCH_REPS=${TORCH_REPS:-3}
BASE=${BASE:-/tmp/torch_cuda_quantize_matrix.json}
"$PYTHON" bench/cuda_gptq_torch_ref.py --reps "$TORCH_REPS" --out "$BASE"
"$BENCH" --reps "$REPS" --baseline "$BASE" --json "$RESULT" --command "bench/run_cuda_quantize_matrix_bench.sh"
