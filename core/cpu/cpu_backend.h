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

// The thread count the CPU backend gave OpenBLAS (process-wide, the last
// context's): what the forward pass uses for its own parallel loops too.
int cpu_threads();

// While one is alive, OpenBLAS runs every call on its caller's thread, so that
// code running many small products on its own threads (attention heads) does
// not have each of them wake the whole OpenBLAS pool. Nests and overlaps
// across threads: the first one in sets one thread, the last one out restores
// the count.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas();
  ~SingleThreadedBlas();
  SingleThreadedBlas(const SingleThreadedBlas &) = delete;
  SingleThreadedBlas &operator=(const SingleThreadedBlas &) = delete;
};

}  // namespace gptq
