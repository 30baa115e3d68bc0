#!/usr/bin/env bash
# example_test.sh WORK_DIR PROGRAM [ARGS...]: runs an example of examples/ on
# the demo model twice, as `PROGRAM ARGS... <model_dir> <calibration.txt>
# <out_dir> <prompt>` (every example takes these). The first run quantizes the
# model into WORK_DIR/out and streams a generation; the second loads that
# checkpoint and streams again. Each language's test runs its example through
# here, so all examples are held to the same output.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$1
shift
rm -rf "$work"
mkdir -p "$work"
prompt="To create a table in PostgreSQL, use the"
run() {
  "$@" "$root/demo/docs-llama-tiny" "$root/demo/text/calib.txt" "$work/out" "$prompt"
}
# 77: the runner said its tool is missing (tests/bindings/run_tool.sh): skip.
rc=0
run "$@" >"$work/first.log" 2>&1 || rc=$?
[ $rc -eq 77 ] && { cat "$work/first.log"; exit 77; }
[ $rc -ne 0 ] && { cat "$work/first.log"; exit 1; }
cat "$work/first.log"
grep -q "^quantizing: 100%" "$work/first.log"
grep -q "^wrote $work/out" "$work/first.log"
test -f "$work/out/quantize_config.json"
# The continuation: the prompt and at least one more word.
grep -Eq "^$prompt .+" "$work/first.log"
run "$@" >"$work/second.log" 2>&1 || { cat "$work/second.log"; exit 1; }
cat "$work/second.log"
grep -q "^loading the GPTQ checkpoint in $work/out" "$work/second.log"
grep -Eq "^$prompt .+" "$work/second.log"
echo "example_test: quantized, loaded and generated"
