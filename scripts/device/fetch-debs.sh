#!/usr/bin/env bash
# Run here (a development machine with Debian's package registry): downloads
# the .deb files the GPU machine needs to build libgptq and its tests into
# .carry/debs (git-ignored; name .carry in the device call's carry list).
# The GPU machine has no package registry and none of Debian's dev packages.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .carry/debs
cd .carry/debs
pkgs=(flatbuffers-compiler libflatbuffers-dev libflatbuffers2 nlohmann-json3-dev
      libgtest-dev libgmock-dev libopenblas-dev libopenblas0-pthread libopenblas-pthread-dev
      liblapacke liblapacke-dev liblapack3 liblapack-dev libblas3 libblas-dev libgfortran5 libquadmath0
      libtmglib3 libtmglib-dev ninja-build)
apt-get download "${pkgs[@]}" >/dev/null
ls -1 | wc -l
