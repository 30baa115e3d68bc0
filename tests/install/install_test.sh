#!/usr/bin/env bash
# install_test.sh BUILD_DIR CONSUMER_SRC WORK_DIR CMAKE CC
set -euo pipefail
build=$1 consumer=$2 work=$3 cmake=$4 cc=$5
rm -rf "$work"
mkdir -p "$work"
prefix="$work/prefix"

"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log"
test -f "$prefix/include/gptq/gptq.h"
ls "$prefix"/lib*/libgptq.so.0 >/dev/null

# 1. CMake package.
"$cmake" -S "$consumer" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" >"$work/configure.log"
"$cmake" --build "$work/cmake-build" >"$work/build.log"
"$work/cmake-build/consumer"

# 2. pkg-config.
pcdir=$(dirname "$(ls "$prefix"/lib*/pkgconfig/gptq.pc)")
flags=$(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs gptq)
# shellcheck disable=SC2086
"$cc" -std=c99 -Wall -Werror "$consumer/consumer.c" $flags -o "$work/consumer-pc"
LD_LIBRARY_PATH=$(dirname "$pcdir") "$work/consumer-pc"
echo "install_test: find_package and pkg-config consumers built and ran"
