#include "core/model/sequence_counts.h"

#include <algorithm>
#include <string>

#include "core/base/error.h"

namespace gptq::model {

std::vector<std::int64_t> sequence_counts(std::span<const std::int64_t> counts, std::int64_t batch,
                                          std::int64_t seq) {
  if (counts.empty()) return std::vector<std::int64_t>(static_cast<std::size_t>(std::max<std::int64_t>(batch, 0)), seq);
  if (static_cast<std::int64_t>(counts.size()) != batch)
    fail(Status::InvalidArgument, "forward run: " + std::to_string(counts.size()) +
                                      " per-sequence token counts for a batch of " + std::to_string(batch));
  for (std::size_t b = 0; b < counts.size(); ++b)
    if (counts[b] < 0 || counts[b] > seq)
      fail(Status::InvalidArgument, "forward run: sequence " + std::to_string(b) + " has " +
                                        std::to_string(counts[b]) + " valid tokens, outside [0, " +
                                        std::to_string(seq) + "] (the run's rows per sequence)");
  return {counts.begin(), counts.end()};
}

std::int64_t positions_covered(std::span<const std::int64_t> lengths, std::span<const std::int64_t> counts) {
  std::int64_t covered = 0;
  for (std::size_t b = 0; b < lengths.size() && b < counts.size(); ++b)
    covered = std::max(covered, lengths[b] + counts[b]);
  return covered;
}

}  // namespace gptq::model
