// The CPU backend: OpenBLAS/LAPACK for the linear algebra, always available.
// It is also the reference every other backend is tested against. The
// threads it computes on are the context's ThreadPool (core/backend/runtime.h), not
// OpenBLAS's (core/cpu/single_threaded_blas.h).
#pragma once

#include <memory>
#include <string>

#include "core/backend/backend.h"

namespace gptq {

// `threads`: the size of the context's pool, for the device name.
std::unique_ptr<Backend> open_cpu_backend(int threads);

// The CPU's "model name" from /proc/cpuinfo ("CPU" when it has none).
std::string cpu_model_name();

// The number of threads `threads` resolves to: itself when > 0, else one per
// CPU this process may run on (its affinity mask; all online CPUs when that
// cannot be read).
int resolve_cpu_threads(int threads);

}  // namespace gptq
