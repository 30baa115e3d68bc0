#!/usr/bin/env bash
# Here (the dev machine): copies what the GPU machine runs of a build — the
# library, the CUDA plugin, the CLI, the tests labelled cuda and the CUDA
# benchmarks — stripped of debug info into DIR.tar.xz (under .carry/, named
# in the run's carry; a quarter of the size), so a device call spends no time
# compiling. Extra binaries of BUILD_DIR/bin may be named after DIR.
#   scripts/device/bundle.sh BUILD_DIR DIR [BINARY...]
# On the device: scripts/device/cuda_tests.sh DIR unpacks and runs them.
set -euo pipefail
build=${1:?usage: bundle.sh BUILD_DIR DIR} dir=${2:?usage: bundle.sh BUILD_DIR DIR}
rm -rf "$dir" && mkdir -p "$dir/bin" "$dir/lib"
cp -P "$build"/lib/libgptq.so* "$build"/lib/libgptq-cuda.so* "$dir/lib/"
tests=$(cd "$build" && ctest -N -L cuda | sed -n 's/^ *Test *#[0-9]*: //p')
for t in gptq $tests cuda_linear_bench cuda_quantize_matrix_bench "${@:3}"; do
  [ -f "$build/bin/$t" ] && cp "$build/bin/$t" "$dir/bin/"
done
strip --strip-debug "$dir"/bin/* "$dir"/lib/*.so.* "$dir"/lib/libgptq-cuda.so 2>/dev/null || true
echo "$tests" >"$dir/cuda_tests.txt"
tar cJf "$dir.tar.xz" -C "$(dirname "$dir")" "$(basename "$dir")" && rm -rf "$dir"
du -sh "$dir.tar.xz"
