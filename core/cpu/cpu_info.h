// What the CPU backend says about the processor it runs on, and how many
// threads a context gets: here, in the low-level CPU room, because it asks
// the system about threads.
#pragma once

#include <string>

namespace gptq {

// The CPU's "model name" from /proc/cpuinfo ("CPU" when it has none).
std::string cpu_model_name();

// The number of threads `threads` resolves to: itself when > 0, else one per
// CPU this process may run on (its affinity mask; all online CPUs when that
// cannot be read).
int resolve_cpu_threads(int threads);

}  // namespace gptq
