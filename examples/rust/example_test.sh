#!/usr/bin/env bash
# example_test.sh WORK_DIR [CARGO]: builds the Rust example with cargo and runs it on
# the demo model twice: the first run quantizes it into WORK_DIR/out and
# streams a generation, the second loads that checkpoint and streams again.
# Needs the environment of bindings/rust/CMakeLists.txt (GPTQ_LIB_DIR, ...).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$here/../..
work=$1
cargo=${2:-cargo}
rm -rf "$work"
mkdir -p "$work"
run() {
  "$cargo" run --quiet --offline --locked --manifest-path "$here/Cargo.toml" -- \
    "$root/demo/docs-llama-tiny" "$root/demo/text/calib.txt" "$work/out" "To create a table in PostgreSQL, use the"
}
run >"$work/first.log" 2>&1 || { cat "$work/first.log"; exit 1; }
cat "$work/first.log"
grep -q "^quantizing: 100%" "$work/first.log"
grep -q "^wrote $work/out" "$work/first.log"
test -f "$work/out/quantize_config.json"
# The continuation: the prompt and at least one more word.
grep -Eq "^To create a table in PostgreSQL, use the .+" "$work/first.log"
run >"$work/second.log" 2>&1 || { cat "$work/second.log"; exit 1; }
cat "$work/second.log"
grep -q "^loading the GPTQ checkpoint in $work/out" "$work/second.log"
grep -Eq "^To create a table in PostgreSQL, use the .+" "$work/second.log"
echo "example_test: quantized, loaded and generated"
