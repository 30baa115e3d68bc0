#!/bin/sh
# Runs the torch CPU reference timings, then the C++ bench with them as the
# baseline, writing bench/results/quantize_matrix-cpu-2core.json.
# Needs Debian's python3-torch (/usr/bin/python3) and a built default preset.
set -e
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
BASE=build/default/torch_quantize_matrix.json
/usr/bin/python3 tests/reference/bench_gptq_ref.py --threads "$THREADS" --reps 10 --reps-big 3 --out "$BASE"
build/default/bin/quantize_matrix_bench --threads "$THREADS" --reps 10 --reps-big 3 --baseline "$BASE" \
  --json bench/results/quantize_matrix-cpu-2core.json --command "bench/run_quantize_matrix_bench.sh"
