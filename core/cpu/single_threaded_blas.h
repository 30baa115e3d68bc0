// OpenBLAS held at one thread while libgptq computes, and the host's own
// setting given back afterwards.
//
// OpenBLAS keeps one thread count for the whole process: 0.3.21 (Debian 12)
// has no per-thread count, and openblas_set_num_threads_local (0.3.27 on)
// still sets the same global in pthreads builds. A context's thread count
// therefore cannot live in OpenBLAS. Instead our code runs on the context's
// own ThreadPool and cuts its BLAS work into tasks itself
// (core/cpu/parallel_blas.h), each task one BLAS call on the thread that runs
// it; OpenBLAS must then not start threads of its own. While at least one
// SingleThreadedBlas is alive (one per library call, core/cpu/compute.h), the
// count is 1; the first one in saves the host's count, the last one out
// restores it. Contexts on several threads at once share the one setting
// under a lock, so none of them races another on it.
//
// What a host sees: openblas_get_num_threads() is its own value before and
// after every library call. During a call, its own BLAS calls on other
// threads run single-threaded (still correct). A count the host sets during
// a call is kept: the last one out restores only if the count is still the 1
// it set.
#pragma once

namespace gptq {

class SingleThreadedBlas {
 public:
  SingleThreadedBlas();
  ~SingleThreadedBlas();
  SingleThreadedBlas(const SingleThreadedBlas &) = delete;
  SingleThreadedBlas &operator=(const SingleThreadedBlas &) = delete;
};

}  // namespace gptq
