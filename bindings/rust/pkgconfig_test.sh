#!/usr/bin/env bash
# pkgconfig_test.sh BUILD_DIR WORK_DIR CMAKE CARGO: installs the build into a
# prefix and builds the Rust example against it through pkg-config alone
# (GPTQ_LIB_DIR unset), then runs it with the prefix's library.
set -euo pipefail
build=$1 work=$2 cmake=$3 cargo=$4
here=$(cd "$(dirname "$0")" && pwd)
root=$here/../..
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log"
pcdir=$(dirname "$(ls "$prefix"/lib*/pkgconfig/gptq.pc)")
unset GPTQ_LIB_DIR
export PKG_CONFIG_PATH=$pcdir LD_LIBRARY_PATH=$(dirname "$pcdir") CARGO_TARGET_DIR=$work/target
"$cargo" build --quiet --offline --locked --manifest-path "$root/examples/rust/Cargo.toml"
# Linked against the prefix's library, not the build tree's.
ldd "$work/target/debug/gptq-example" | grep -q "libgptq.so.0 => $prefix/"
"$work/target/debug/gptq-example" "$root/demo/docs-llama-tiny" "$root/demo/text/calib.txt" "$work/out" \
  "To create a table" | tee "$work/run.log"
grep -Eq "^To create a table.+" "$work/run.log"
echo "pkgconfig_test: built through pkg-config against $prefix and ran"
