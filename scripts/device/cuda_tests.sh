#!/usr/bin/env bash
# On the GPU machine, from the repo root: the tests labelled cuda of a bundle
# (scripts/device/bundle.sh DIR, DIR.tar.xz carried) and the CLI's --backend test, with
# the shared models from SHARED (default .carry/shared-dev, laid out as
# ../shared). Unpacks the carried deps tree (OpenBLAS, flatbuffers) into
# /opt/deps. Logs under $OUT/tests-NAME/; prints one line per test.
#   scripts/device/cuda_tests.sh DIR [NAME] [gtest filter]
set -uo pipefail
dir=${1:?usage: cuda_tests.sh DIR [NAME] [FILTER]} name=${2:-$(basename "$1")} filter=${3:-*}
source scripts/device/bundle_env.sh "$dir" || exit 1
dir=$BUNDLE
out=${OUT:-/tmp/out}/tests-$name
mkdir -p "$out"
export GPTQ_SHARED_DIR=$(realpath "${SHARED:-.carry/shared-dev}") GPTQ_SOURCE_DIR=$PWD
for t in $(cat "$dir/cuda_tests.txt"); do
  s=$(date +%s.%N)
  timeout 300 "$dir/bin/$t" --gtest_filter="$filter" >"$out/$t.log" 2>&1; rc=$?
  printf "%-26s rc=%-3s %6.1f s  %s\n" "$t" "$rc" "$(python3 -c "import time; print(time.time() - $s)")" \
    "$(grep -E '^\[  (PASSED|FAILED|SKIPPED) ' "$out/$t.log" | tr '\n' ' ')"
  [ $rc -ne 0 ] && grep -E -A4 'Failure' "$out/$t.log" | head -30
done
if [ "$filter" = "*" ]; then
  PATH=$dir/bin:$PATH timeout 300 python3 -B tests/cli/backend_option_test.py "$dir/bin/gptq" >"$out/cli.log" 2>&1
  echo "cli_backend_option_test rc=$? $(tail -1 "$out/cli.log")"
fi
