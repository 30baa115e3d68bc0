#!/usr/bin/env bash
# Run on the GPU machine, from the repo root: unpacks the carried .debs
# (scripts/device/fetch-debs.sh) into /opt/deps (never into /), makes the
# links Debian's update-alternatives would make, then configures and builds
# the given preset (default: cuda) against them.
#   source scripts/device/build.sh [preset] [extra cmake args...]
# Leaves PATH/LD_LIBRARY_PATH/CPATH exported for the programs that follow.
preset=${1:-cuda}
shift || true
deps=/opt/deps
debs=${GPTQ_DEBS:-.carry/debs}  # a smaller set serves a build without tests
# or GPTQ_DEPS_TAR: those .debs already unpacked, static libraries and docs
# removed, as one tar.xz (a third of the size, so a model fits beside it).
multi=$deps/usr/lib/x86_64-linux-gnu
if [ ! -d "$deps/usr" ]; then
  mkdir -p "$deps"
  if [ -n "${GPTQ_DEPS_TAR:-}" ]; then
    tar xJf "$GPTQ_DEPS_TAR" -C "$deps"
  else
    for f in "$debs"/*.deb; do dpkg -x "$f" "$deps"; done
  fi
  ln -sf openblas-pthread/libopenblas.so "$multi/libopenblas.so"
  ln -sf openblas-pthread/libblas.so.3 "$multi/libblas.so.3"
  ln -sf openblas-pthread/libblas.so "$multi/libblas.so"
  ln -sf openblas-pthread/liblapack.so.3 "$multi/liblapack.so.3"
  ln -sf openblas-pthread/liblapack.so "$multi/liblapack.so"
  ln -sf openblas-pthread/cblas.h "$deps/usr/include/x86_64-linux-gnu/cblas.h"
  ln -sf openblas-pthread/openblas_config.h "$deps/usr/include/x86_64-linux-gnu/openblas_config.h"
fi
export PATH=$deps/usr/bin:$PATH
export LD_LIBRARY_PATH=$multi:$multi/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export CPATH=$deps/usr/include:$deps/usr/include/x86_64-linux-gnu
export LIBRARY_PATH=$multi
cmake --preset "$preset" \
  -DCMAKE_PREFIX_PATH=$deps/usr \
  -DCMAKE_MAKE_PROGRAM=$deps/usr/bin/ninja \
  -DCMAKE_CUDA_COMPILER="$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)" \
  "$@" >/tmp/configure.log 2>&1 || { cat /tmp/configure.log; return 1 2>/dev/null || exit 1; }
cmake --build --preset "$preset" -j "$(nproc)"
