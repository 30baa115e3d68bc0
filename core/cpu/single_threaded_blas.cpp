#include "core/cpu/single_threaded_blas.h"

#include <cblas.h>

#include <mutex>

namespace gptq {
namespace {

std::mutex blas_threads_mutex;
int holders = 0;        // SingleThreadedBlas objects alive
int host_threads = 1;   // the count found by the first of them

}  // namespace

SingleThreadedBlas::SingleThreadedBlas() {
  std::lock_guard lock(blas_threads_mutex);
  if (holders++ == 0) {
    host_threads = openblas_get_num_threads();
    if (host_threads != 1) openblas_set_num_threads(1);
  }
}

SingleThreadedBlas::~SingleThreadedBlas() {
  std::lock_guard lock(blas_threads_mutex);
  if (--holders == 0 && host_threads != 1 && openblas_get_num_threads() == 1) openblas_set_num_threads(host_threads);
}

}  // namespace gptq
