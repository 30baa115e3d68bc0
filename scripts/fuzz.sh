#!/usr/bin/env bash
# Builds the libFuzzer targets of a preset and runs each for N seconds
# (default 60) on its seed corpus. A crash fails the run and leaves the input
# in build/<preset>/crashes/<target>/ — turn it into a gtest regression case.
# Presets: fuzz (the default; -O2, no tests: for long runs) and asan (the
# sanitized test build, its library at -O1, which CI fuzzes so that it
# compiles the library once for both).
# Usage: scripts/fuzz.sh [--preset fuzz|asan] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
preset=fuzz
if [ "${1:-}" = --preset ]; then
  preset=$2; shift 2
fi
seconds=${1:-60}
case "$preset" in
  fuzz|asan) ;;
  *) echo "usage: $0 [--preset fuzz|asan] [SECONDS]" >&2; exit 2 ;;
esac
build=build/$preset
cmake --preset "$preset" >/dev/null
cmake --build "$build" --target fuzzers -j "$(nproc)"
shopt -s nullglob
targets=("$build"/bin/*_fuzz)
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no fuzz targets built"; exit 1
fi
# One target per core at a time (each fuzzer is single-threaded), so CI's
# fuzzing costs seconds x targets / cores of wall time, each target still
# getting its full N seconds of a core.
jobs=$(nproc)
logs=$build/fuzz-logs
mkdir -p "$logs"
fuzz_one() {
  local t=$1 name corpus work crashes
  name=$(basename "$t" _fuzz)
  corpus=tests/fuzz/corpus/$name
  work=$build/corpus-run/$name
  crashes=$build/crashes/$name
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
  echo "fuzz: crashed: ${failed[*]} (inputs in $build/crashes/)"; exit 1
fi
echo "fuzz: ${#targets[@]} target(s) ran ${seconds}s each without a crash"
