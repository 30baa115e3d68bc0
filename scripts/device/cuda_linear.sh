#!/usr/bin/env bash
# On the GPU machine: the int4/int8 kernel tests, the cuda_linear bench and
# the sanitizers over them, in one call. Build here (default preset), copy
# build/default/bin/{gptq_kernels_test,cuda_linear_bench} into a carried
# folder DIR, then on the device:
#   GPTQ_COMMIT=<commit> bash scripts/device/cuda_linear.sh DIR
# Writes under $OUT: test.log, bench.log, cuda_linear-h200.json (copy it to
# bench/results/), sweep.log (cuda_linear_bench --sweep: every wgmma tile
# shape and split), racecheck.log.gz, memcheck.log.
set -o pipefail
dir=${1:?usage: cuda_linear.sh DIR}
out=${OUT:-/tmp/out}
mkdir -p "$out"
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
export GPTQ_COMMIT=${GPTQ_COMMIT:-unknown}
cd "$dir" || exit 1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
timeout 120 ./gptq_kernels_test > "$out/test.log" 2>&1; echo "test rc=$?"
grep -E "FAILED|Failure|PASSED" "$out/test.log" | head -20
timeout 200 ./cuda_linear_bench "$out/cuda_linear-h200.json" > "$out/bench.log" 2>&1; echo "bench rc=$?"
grep -E "batch=(1|16|64|256|1024) " "$out/bench.log"
timeout 240 ./cuda_linear_bench --sweep > "$out/sweep.log" 2>&1; echo "sweep rc=$?"
# Our kernels alone under racecheck: the tests' cuBLAS reference kernels
# (nvjet) are reported as WAR hazards by racecheck, so those runs are read
# for hazards that name our kernels only.
for a in "4096 4096 1" "4096 4096 8" "4096 4096 16" "4096 4096 17" "4096 4096 64" "4096 4096 100" "4096 4096 300" "200 4672 1" "200 4672 100"; do
  timeout 60 compute-sanitizer --tool racecheck --racecheck-report all ./cuda_linear_bench --one $a 2>&1 |
    grep -E "SUMMARY" | sed "s/^/racecheck --one $a: /"
done
filter='*asym4_g128_actorder_bias*:*asym4_wide_short*:*sym8_g32_bias*:*asym4_g128_n1000*:*sym4_onegroup*'
timeout 150 compute-sanitizer --tool racecheck --racecheck-report all --print-limit 100000 \
  ./gptq_kernels_test --gtest_filter="$filter" > "$out/racecheck.log" 2>&1; echo "racecheck tests rc=$?"
echo "hazards naming our kernels: $(grep -cE 'gemv_|gemm_kernel|wgmma_kernel|permute_kernel|reduce_kernel|dequant_kernel' "$out/racecheck.log")"
gzip -f "$out/racecheck.log"
timeout 100 compute-sanitizer --tool memcheck ./gptq_kernels_test --gtest_filter="$filter" > "$out/memcheck.log" 2>&1
echo "memcheck rc=$?"; grep -E "ERROR SUMMARY" "$out/memcheck.log"
