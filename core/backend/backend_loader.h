// Finding and opening backends: the CPU one directly, the CUDA one by dlopen of
// libgptq-cuda.so (see backend_plugin.h).
#pragma once

#include <memory>

#include "core/backend/backend.h"
#include "core/log.h"

namespace gptq {

// Loads the CUDA backend and opens `device`. Throws Error(Unsupported) when
// this build has no CUDA backend, Error(Device) with the reason (plugin not
// found, no driver, no GPU, device index out of range, self-test failed) when
// it cannot be used.
std::unique_ptr<Backend> open_cuda_backend(int device, Logger &log);

}  // namespace gptq
