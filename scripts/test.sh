#!/usr/bin/env bash
# The README's test command: installs what is needed, then builds and runs
# every test in the presets CI uses:
#   default  CPU + CUDA backend compiled for sm_90a (CUDA code is compile-checked;
#            tests labelled "cuda" skip without a GPU and say why), on this
#            CPU's own OpenBLAS kernels and all its cores
#   asan     CPU only, clang, AddressSanitizer + UndefinedBehaviorSanitizer; its
#            tests run on other OpenBLAS kernels and one thread (see
#            other_kernels_one_thread)
#   fuzz     each libFuzzer target, built in the asan preset, for FUZZ_SECONDS
#            (default 60)
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

# Builds a preset and runs its tests, with the environment given after the
# preset's name (VAR=value ...).
run_preset() {
  local preset=$1; shift
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  env "$@" ctest --preset "$preset" -j "$jobs"
}

# No golden may hold only for this CPU's floating-point rounding or core
# count: the default preset's tests run on this CPU's own OpenBLAS kernels and
# all its cores, the asan preset's under OpenBLAS kernels other than this
# CPU's own and on one thread (the library's "threads": 0 means the
# processors the process sees, which tests/support/cpu_count_override.c sets
# to GPTQ_TEST_CPUS). Our own code rounds alike in both builds (no fast-math,
# no FMA contraction for x86-64's baseline), so the two runs differ where it
# matters: in OpenBLAS's kernels and the thread count. The kernels:
# Prescott's, OpenBLAS's generic x86-64 ones (SSE3, which every x86-64 CPU
# since 2005 has; Sandybridge's and newer need AVX, which not all have), also
# what it falls back to on CPUs it does not know (the GPU machine's Xeon) and,
# without FMA, the ones that round most unlike the Haswell/Zen/SkylakeX
# kernels a CI machine normally gets. Where this CPU already runs Prescott's,
# Nehalem's (SSSE3). run_conditions_test fails if either setting did not take
# effect. Sets `conditions`, the VAR=value list for run_preset, for the
# preset named by $1.
other_kernels_one_thread() {
  local own kernels
  own=$(python3 -c 'import ctypes; l = ctypes.CDLL("libopenblas.so.0"); l.openblas_get_corename.restype = ctypes.c_char_p; print(l.openblas_get_corename().decode())')
  kernels=Prescott
  [ "$own" = Prescott ] && kernels=Nehalem
  echo "=== OpenBLAS $kernels kernels (this CPU's own: $own), 1 thread ==="
  conditions=(OPENBLAS_CORETYPE="$kernels" OPENBLAS_NUM_THREADS=1 GPTQ_TEST_CPUS=1
              LD_PRELOAD="$PWD/build/$1/lib/libgptq_test_cpu_count.so")
}

if [ -z "$only" ] || [ "$only" = default ]; then
  echo "=== preset default ==="
  run_preset default
fi
if [ -z "$only" ] || [ "$only" = asan ]; then
  echo "=== preset asan ==="
  other_kernels_one_thread asan
  run_preset asan "${conditions[@]}"
fi
if [ -z "$only" ] || [ "$only" = fuzz ]; then
  bash scripts/fuzz.sh --preset asan "${FUZZ_SECONDS:-60}"
fi
echo "scripts/test.sh: all presets passed"
