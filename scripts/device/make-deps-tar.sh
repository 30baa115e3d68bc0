#!/usr/bin/env bash
# Packs the .debs a build without tests needs (from .carry/debs, made by
# fetch-debs.sh), unpacked, without static libraries and docs, into
# .carry/deps/deps-tree.tar.xz for scripts/device/build.sh (GPTQ_DEPS_TAR).
set -euo pipefail
cd "$(dirname "$0")/../.."
tree=$(mktemp -d)
for p in flatbuffers-compiler libflatbuffers-dev libflatbuffers2 libgfortran5 liblapacke-dev liblapacke \
         libtmglib3 libopenblas-dev libopenblas-pthread-dev libopenblas0-pthread libquadmath0 ninja-build \
         nlohmann-json3-dev libblas-dev; do
  dpkg -x .carry/debs/${p}_*.deb "$tree"
done
# CMake's flatbuffers targets name the static library; the others are not used.
find "$tree" -name '*.a' ! -name 'libflatbuffers.a' -delete
rm -rf "$tree/usr/share/doc" "$tree/usr/share/man"
mkdir -p .carry/deps
tar cf - -C "$tree" . | xz -T0 -6 > .carry/deps/deps-tree.tar.xz
rm -rf "$tree"
ls -la .carry/deps/deps-tree.tar.xz
