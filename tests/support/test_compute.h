// The pool and Compute that core tests run on: two threads (CI's two cores),
// made on first use by the test's main thread. Results never depend on the
// thread count; the tests of that (tests/core/cpu/) make pools of their own.
// Global names, so tests in any namespace call them unqualified.
#pragma once

#include "core/cpu/compute.h"

inline gptq::ThreadPool &test_pool() {
  static gptq::ThreadPool pool(2);
  return pool;
}

inline const gptq::Compute &test_compute() {
  static const gptq::Compute compute(test_pool());
  return compute;
}
