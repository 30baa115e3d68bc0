// Splits [0, rows) into chunks of `chunk` rows and runs fn(begin, end) on up
// to `threads` std::threads (the calling one included), chunks handed out in
// order as threads free up; an exception thrown by fn is rethrown once all
// have stopped. The CPU code's one way to run independent rows in parallel: the
// solver's output rows, the forward pass's tokens and attention heads.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <thread>
#include <vector>

#include "core/cpu/cpu_backend.h"

namespace gptq {

template <class Fn>
void for_row_chunks(std::int64_t rows, std::int64_t chunk, int threads, Fn &&fn) {
  const std::int64_t count = (rows + chunk - 1) / chunk;
  const int workers = static_cast<int>(std::min<std::int64_t>(threads, count));
  if (workers <= 1) {
    for (std::int64_t c = 0; c < count; ++c) fn(c * chunk, std::min(rows, (c + 1) * chunk));
    return;
  }
  std::atomic<std::int64_t> next{0};
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(workers));
  auto work = [&](int w) {
    try {
      for (std::int64_t c; (c = next.fetch_add(1)) < count;) fn(c * chunk, std::min(rows, (c + 1) * chunk));
    } catch (...) {
      errors[static_cast<std::size_t>(w)] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  for (int w = 1; w < workers; ++w) pool.emplace_back(work, w);
  work(0);
  for (auto &t : pool) t.join();
  for (auto &e : errors)
    if (e) std::rethrow_exception(e);
}

// Rows of a forward-pass loop (`cols` floats of work each) on cpu_threads(),
// in chunks of at least kMinChunkWork elements: a decode step's single row
// stays on the calling thread.
template <class Fn>
void parallel_rows(std::int64_t rows, std::int64_t cols, Fn &&fn) {
  constexpr std::int64_t kMinChunkWork = 1 << 15;
  const int threads = cpu_threads();
  const std::int64_t by_work = std::max<std::int64_t>(1, kMinChunkWork / std::max<std::int64_t>(1, cols));
  const std::int64_t by_threads = (rows + 4 * threads - 1) / (4 * threads);
  for_row_chunks(rows, std::max(by_work, by_threads), threads, fn);
}

}  // namespace gptq
