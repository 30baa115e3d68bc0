// The CPU backend: OpenBLAS/LAPACK for the linear algebra, always available.
// It is also the reference every other backend is tested against.
#pragma once

#include <memory>
#include <string>

#include "core/backend.h"

namespace gptq {

// threads: 0 for one per core. OpenBLAS's thread count is process-wide, so the
// last context created sets it.
std::unique_ptr<Backend> open_cpu_backend(int threads);

// The CPU's "model name" from /proc/cpuinfo ("CPU" when it has none).
std::string cpu_model_name();

// The number of threads `threads` resolves to (0 → hardware concurrency).
int resolve_cpu_threads(int threads);

}  // namespace gptq
