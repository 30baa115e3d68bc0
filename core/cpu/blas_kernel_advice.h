// Whether OpenBLAS runs kernels far below what the CPU can do, and what to do.
//
// A DYNAMIC_ARCH OpenBLAS (Debian's) picks its kernels from the CPU model at
// load time. On a CPU newer than the library it falls back to "Prescott"
// (SSE3): measured on the Xeon host of an H200, sgemm ran at 241 GFLOP/s with
// the fallback and 1224 GFLOP/s with OPENBLAS_CORETYPE=SkylakeX, same 16
// threads (bench/results/quantize_matrix-h200-host*.json). The choice is made
// before our code runs and cannot be changed from inside the process, so the
// library says so once, with the environment variable that fixes it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gptq {

struct CpuVector {
  bool avx2 = false;
  bool avx512f = false;
};

// The warning for OpenBLAS core `core` on a CPU with `cpu` features, or
// nullopt when the kernels fit the CPU or the user already chose a core
// (`coretype_env`: the value of OPENBLAS_CORETYPE, null when unset).
std::optional<std::string> blas_kernel_advice(std::string_view core, CpuVector cpu, const char *coretype_env);

// The same for the OpenBLAS linked into this process and the CPU it runs on.
std::optional<std::string> blas_kernel_advice();

}  // namespace gptq
