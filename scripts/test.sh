#!/usr/bin/env bash
# The README's test command: installs what is needed, then builds and runs
# every test in the presets CI uses:
#   default  CPU + CUDA backend compiled for sm_90a (CUDA code is compile-checked;
#            tests labelled "cuda" skip without a GPU and say why)
#   asan     CPU only, AddressSanitizer + UndefinedBehaviorSanitizer
#   fuzz     each libFuzzer target for FUZZ_SECONDS (default 60)
# Usage: scripts/test.sh [--no-deps] [--only default|asan|fuzz]
set -euo pipefail
cd "$(dirname "$0")/.."

deps=1 only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --no-deps) deps=0 ;;
    --only) only=$2; shift ;;
    *) echo "usage: $0 [--no-deps] [--only default|asan|fuzz]" >&2; exit 2 ;;
  esac
  shift
done
[ $deps -eq 1 ] && bash scripts/install-deps.sh

jobs=$(nproc)
export CCACHE_DIR=${CCACHE_DIR:-$PWD/build/.ccache}

run_preset() {
  echo "=== preset $1 ==="
  cmake --preset "$1" >/dev/null
  cmake --build --preset "$1" -j "$jobs"
  ctest --preset "$1" -j "$jobs"
}

[ -z "$only" ] || [ "$only" = default ] && run_preset default
[ -z "$only" ] || [ "$only" = asan ] && run_preset asan
if [ -z "$only" ] || [ "$only" = fuzz ]; then
  bash scripts/fuzz.sh "${FUZZ_SECONDS:-60}"
fi
echo "scripts/test.sh: all presets passed"
