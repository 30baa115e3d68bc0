// cuBLAS failures the way cuda_check.h reports CUDA ones: a CudaError with
// the file, line, call and cuBLAS's name for the status (an allocation
// failure inside cuBLAS stays out of memory at the plugin boundary).
#pragma once

#include <cublas_v2.h>

#include <string>

#include "cuda/cuda_check.h"

namespace gptq::cuda {

[[noreturn]] inline void throw_cublas_error(cublasStatus_t status, const char *call, const char *file, int line) {
  throw CudaError(std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " +
                      cublasGetStatusName(status) + ": " + cublasGetStatusString(status),
                  status == CUBLAS_STATUS_ALLOC_FAILED ? cudaErrorMemoryAllocation : cudaErrorUnknown);
}

}  // namespace gptq::cuda

#define GPTQ_CUBLAS_CHECK(call)                                                         \
  do {                                                                                  \
    if (::gptq::cuda::injected_check_failure())                                         \
      ::gptq::cuda::throw_injected_failure(#call, __FILE__, __LINE__);                  \
    cublasStatus_t gptq_cublas_status_ = (call);                                        \
    if (gptq_cublas_status_ != CUBLAS_STATUS_SUCCESS)                                   \
      ::gptq::cuda::throw_cublas_error(gptq_cublas_status_, #call, __FILE__, __LINE__); \
  } while (0)
