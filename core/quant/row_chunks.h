// Splits [0, rows) into chunks of about `chunk` rows and runs fn(begin, end)
// on up to `threads` std::threads. The solver's per-column work is independent
// across output rows, so chunks need no synchronisation; small chunks keep a
// block's slice of the weights in L2 while its columns are processed.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <thread>
#include <vector>

namespace gptq::quant {

inline int resolve_threads(int threads) {
  if (threads > 0) return threads;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(hw);
}

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

}  // namespace gptq::quant
