// ParallelMemcpy (cuda/parallel_memcpy.h), the threads that fill HostStaging's
// pinned chunks: every byte lands where memcpy would put it, whatever the
// size (below the threshold that keeps small copies on the caller, odd sizes
// whose parts end mid cache line, fewer bytes than parts), the number of
// helpers, and copy after copy on the same threads. Needs no GPU.
#include "cuda/parallel_memcpy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace gptq::cuda {
namespace {

std::vector<unsigned char> pattern(std::size_t n, unsigned seed) {
  std::vector<unsigned char> v(n);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto &b : v) {
    x = x * 1664525u + 1013904223u;
    b = static_cast<unsigned char>(x >> 24);
  }
  return v;
}

TEST(ParallelMemcpy, CopiesEveryByteForEverySizeAndHelperCount) {
  const std::size_t sizes[] = {0, 1, 63, 4096, (std::size_t{1} << 20) - 1, std::size_t{1} << 20,
                               (std::size_t{1} << 20) + 1, 3 * (std::size_t{1} << 20) + 77};
  for (const unsigned helpers : {0u, 1u, 3u, 7u}) {
    ParallelMemcpy copier(helpers);
    EXPECT_EQ(copier.helpers(), helpers);
    unsigned seed = 1;
    for (int round = 0; round < 2; ++round)
      for (const std::size_t n : sizes) {
        const std::vector<unsigned char> src = pattern(n + 128, seed++);
        // Destination and source at an odd offset, with guard bytes around
        // the destination that must stay untouched.
        std::vector<unsigned char> dst(n + 128, 0xA5);
        copier.copy(dst.data() + 3, src.data() + 5, n);
        const auto guard = [](unsigned char b) { return b == 0xA5; };
        ASSERT_TRUE(std::all_of(dst.begin(), dst.begin() + 3, guard)) << "before, helpers " << helpers << ", n " << n;
        const auto diff = std::mismatch(dst.begin() + 3, dst.begin() + 3 + static_cast<std::ptrdiff_t>(n),
                                        src.begin() + 5);
        ASSERT_EQ(diff.first, dst.begin() + 3 + static_cast<std::ptrdiff_t>(n))
            << "byte " << (diff.first - dst.begin() - 3) << " of " << n << ", helpers " << helpers;
        ASSERT_TRUE(std::all_of(dst.begin() + 3 + static_cast<std::ptrdiff_t>(n), dst.end(), guard))
            << "after, helpers " << helpers << ", n " << n;
      }
  }
}

// GPTQ_STAGING_THREADS=N is N threads in all (the caller's among them);
// outside 1..16 it is ignored.
TEST(ParallelMemcpy, TheEnvironmentSetsTheThreads) {
  ::setenv("GPTQ_STAGING_THREADS", "1", 1);
  EXPECT_EQ(ParallelMemcpy::default_helpers(), 0u);
  ::setenv("GPTQ_STAGING_THREADS", "5", 1);
  EXPECT_EQ(ParallelMemcpy::default_helpers(), 4u);
  ::setenv("GPTQ_STAGING_THREADS", "0", 1);
  const unsigned fallback = ParallelMemcpy::default_helpers();
  EXPECT_LE(fallback, 3u);
  ::unsetenv("GPTQ_STAGING_THREADS");
  EXPECT_EQ(ParallelMemcpy::default_helpers(), fallback);
}

}  // namespace
}  // namespace gptq::cuda
