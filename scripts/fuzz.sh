#!/usr/bin/env bash
# Builds the libFuzzer targets (preset "fuzz") and runs each for N seconds
# (default 60) on its seed corpus. A crash fails the run and leaves the input
# in build/fuzz/crashes/<target>/ — turn it into a gtest regression case.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)"
shopt -s nullglob
targets=(build/fuzz/bin/*_fuzz)
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no fuzz targets built"; exit 1
fi
# One target per core at a time (each fuzzer is single-threaded), so CI's
# fuzzing costs seconds x targets / cores of wall time, each target still
# getting its full N seconds of a core.
jobs=$(nproc)
logs=build/fuzz/logs
mkdir -p "$logs"
fuzz_one() {
  local t=$1 name corpus work crashes
  name=$(basename "$t" _fuzz)
  corpus=tests/fuzz/corpus/$name
  work=build/fuzz/corpus-run/$name
  crashes=build/fuzz/crashes/$name
  mkdir -p "$work" "$crashes"
  # New inputs go to a scratch folder so the committed corpus stays as made.
  "$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$crashes/" "$work" "$corpus" >"$logs/$name.log" 2>&1
}
failed=()
for ((i = 0; i < ${#targets[@]}; i += jobs)); do
  pids=()
  for t in "${targets[@]:i:jobs}"; do
    echo "=== fuzz $(basename "$t" _fuzz) for ${seconds}s ==="
    fuzz_one "$t" & pids+=($!)
  done
  for j in "${!pids[@]}"; do
    t=${targets[i + j]}
    if ! wait "${pids[$j]}"; then failed+=("$(basename "$t" _fuzz)"); fi
    echo "--- $(basename "$t" _fuzz):"; tail -n 12 "$logs/$(basename "$t" _fuzz).log"
  done
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashed: ${failed[*]} (inputs in build/fuzz/crashes/)"; exit 1
fi
echo "fuzz: ${#targets[@]} target(s) ran ${seconds}s each without a crash"
