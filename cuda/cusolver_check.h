// cuSOLVER failures the way cuda_check.h reports CUDA ones: a CudaError with
// the file, line, call and the status's name (an allocation failure inside
// cuSOLVER stays out of memory at the plugin boundary). A factorization that
// fails numerically is no error here: it is reported through its info output.
#pragma once

#include <cusolverDn.h>

#include <string>

#include "cuda/cuda_check.h"

namespace gptq::cuda {

inline const char *cusolver_status_name(cusolverStatus_t status) {
  switch (status) {
    case CUSOLVER_STATUS_NOT_INITIALIZED: return "CUSOLVER_STATUS_NOT_INITIALIZED";
    case CUSOLVER_STATUS_ALLOC_FAILED: return "CUSOLVER_STATUS_ALLOC_FAILED";
    case CUSOLVER_STATUS_INVALID_VALUE: return "CUSOLVER_STATUS_INVALID_VALUE";
    case CUSOLVER_STATUS_ARCH_MISMATCH: return "CUSOLVER_STATUS_ARCH_MISMATCH";
    case CUSOLVER_STATUS_EXECUTION_FAILED: return "CUSOLVER_STATUS_EXECUTION_FAILED";
    case CUSOLVER_STATUS_INTERNAL_ERROR: return "CUSOLVER_STATUS_INTERNAL_ERROR";
    case CUSOLVER_STATUS_NOT_SUPPORTED: return "CUSOLVER_STATUS_NOT_SUPPORTED";
    default: return "cuSOLVER status";
  }
}

[[noreturn]] inline void throw_cusolver_error(cusolverStatus_t status, const char *call, const char *file, int line) {
  throw CudaError(std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " +
                      cusolver_status_name(status) + " (" + std::to_string(static_cast<int>(status)) + ")",
                  status == CUSOLVER_STATUS_ALLOC_FAILED ? cudaErrorMemoryAllocation : cudaErrorUnknown);
}

}  // namespace gptq::cuda

#define GPTQ_CUSOLVER_CHECK(call)                                                         \
  do {                                                                                    \
    if (::gptq::cuda::injected_check_failure())                                             \
      ::gptq::cuda::throw_injected_failure(#call, __FILE__, __LINE__);                      \
    cusolverStatus_t gptq_cusolver_status_ = (call);                                      \
    if (gptq_cusolver_status_ != CUSOLVER_STATUS_SUCCESS)                                 \
      ::gptq::cuda::throw_cusolver_error(gptq_cusolver_status_, #call, __FILE__, __LINE__); \
  } while (0)
