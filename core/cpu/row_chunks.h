// Rows in parallel: the CPU code's one way to run independent rows (the
// solver's output rows, the forward pass's tokens, elementwise passes) on a
// Compute's pool. Chunks are cut by the work alone, never by the thread
// count; fn must give each row the same result whichever chunk holds it.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/cpu/compute.h"

namespace gptq {

// fn(begin, end) for the chunks [i * chunk, min(rows, (i + 1) * chunk)) of
// [0, rows), on the pool.
template <class Fn>
void for_row_chunks(const Compute &compute, std::int64_t rows, std::int64_t chunk, Fn &&fn) {
  if (rows <= 0) return;
  chunk = std::max<std::int64_t>(1, chunk);
  const std::int64_t count = (rows + chunk - 1) / chunk;
  compute.for_each(count, [&](std::int64_t i) { fn(i * chunk, std::min(rows, (i + 1) * chunk)); });
}

// Rows of a pass of `cols` floats of work each, in chunks of at least
// kMinChunkWork elements: a decode step's single row stays on the calling
// thread.
template <class Fn>
void parallel_rows(const Compute &compute, std::int64_t rows, std::int64_t cols, Fn &&fn) {
  constexpr std::int64_t kMinChunkWork = 1 << 15;
  for_row_chunks(compute, rows, std::max<std::int64_t>(1, kMinChunkWork / std::max<std::int64_t>(1, cols)), fn);
}

}  // namespace gptq
