#!/usr/bin/env bash
# Installs everything the build and every test need, from Debian's packages.
# Idempotent: packages already present are left alone, and apt-get runs only
# when something is missing. Run as root (or with sudo available).
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config ccache git
  # libraries
  flatbuffers-compiler libflatbuffers-dev nlohmann-json3-dev
  libopenblas-dev liblapacke-dev
  # tests, sanitizers and fuzzing
  libgtest-dev libgmock-dev clang libclang-rt-14-dev binutils python3 python3-numpy
  # Rust bindings: bindgen regenerates bindings/rust/gptq-sys (a test diffs it)
  bindgen
  # bindings: SWIG generates the Go module; go runs its tests and example
  swig golang-go
  # C# binding: Mono's mcs builds LibGptq.dll, mono and NUnit 2.6 run its tests
  mono-mcs mono-devel nunit-console libnunit-cil-dev
  # Java binding: javac/jar/jni.h and JUnit 5's console launcher for its tests
  default-jdk-headless junit5
)
# Debian's rustc and cargo (1.63) only where the machine has no cargo of its own
# (e.g. rustup's): the crates build with either.
command -v cargo >/dev/null || packages+=(rustc cargo)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
