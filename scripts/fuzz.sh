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
for t in "${targets[@]}"; do
  name=$(basename "$t" _fuzz)
  corpus=tests/fuzz/corpus/$name
  work=build/fuzz/corpus-run/$name
  crashes=build/fuzz/crashes/$name
  mkdir -p "$work" "$crashes"
  echo "=== fuzz $name for ${seconds}s ==="
  # New inputs go to a scratch folder so the committed corpus stays as made.
  "$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$crashes/" "$work" "$corpus" 2>&1 | tail -n 12
done
echo "fuzz: ${#targets[@]} target(s) ran ${seconds}s each without a crash"
