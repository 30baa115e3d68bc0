#!/bin/sh
# Runs the torch CPU reference timings, then the C++ bench with them as the
# baseline, writing $RESULT (default bench/results/quantize_matrix-cpu-2core.json).
# Needs torch for $PYTHON (default Debian's /usr/bin/python3 with python3-torch)
# and a built default preset. On the GPU machine's CPU:
#   THREADS=16 PYTHON=python3 RESULT=$OUT/quantize_matrix-h100-host.json bench/run_quantize_matrix_bench.sh
set -e
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
PYTHON=${PYTHON:-/usr/bin/python3}
RESULT=${RESULT:-bench/results/quantize_matrix-cpu-2core.json}
BASE=build/default/torch_quantize_matrix.json
"$PYTHON" tests/reference/bench_gptq_ref.py --threads "$THREADS" --reps 10 --reps-big 3 --out "$BASE"
build/default/bin/quantize_matrix_bench --threads "$THREADS" --reps 10 --reps-big 3 --baseline "$BASE" \
  --json "$RESULT" --command "THREADS=$THREADS bench/run_quantize_matrix_bench.sh"
