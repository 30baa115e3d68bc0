#include "core/backend/sample_step.h"

#include <string>

#include "core/base/error.h"

namespace gptq {

void check_sample_step(const SampleStep &s, std::int64_t batch, std::int64_t vocab) {
  const auto n = static_cast<std::size_t>(batch);
  auto sized = [&](std::size_t size, const char *what, std::size_t want) {
    if (size != want)
      fail(Status::InvalidArgument, std::string("sampling step: ") + what + " has " + std::to_string(size) +
                                        " entries for a batch of " + std::to_string(batch) + " (" +
                                        std::to_string(want) + " needed)");
  };
  sized(s.active.size(), "active", n);
  sized(s.uniforms.size(), "uniforms", n);
  if (s.seen_offsets.empty() && s.seen_ids.empty()) {
    if (s.repetition_penalty != 1.0)
      fail(Status::InvalidArgument, "sampling step: repetition_penalty " + std::to_string(s.repetition_penalty) +
                                        " without the sequences' seen tokens");
    return;
  }
  sized(s.seen_offsets.size(), "seen_offsets", n + 1);
  if (s.seen_offsets.front() != 0 ||
      s.seen_offsets.back() != static_cast<std::int64_t>(s.seen_ids.size()))
    fail(Status::InvalidArgument, "sampling step: seen_offsets run from " + std::to_string(s.seen_offsets.front()) +
                                      " to " + std::to_string(s.seen_offsets.back()) + ", not 0 to the " +
                                      std::to_string(s.seen_ids.size()) + " seen ids");
  for (std::size_t b = 0; b < n; ++b)
    if (s.seen_offsets[b] > s.seen_offsets[b + 1])
      fail(Status::InvalidArgument, "sampling step: seen_offsets decrease at sequence " + std::to_string(b));
  for (std::size_t i = 0; i < s.seen_ids.size(); ++i)
    if (s.seen_ids[i] < 0 || s.seen_ids[i] >= vocab)
      fail(Status::InvalidArgument, "sampling step: seen id " + std::to_string(s.seen_ids[i]) + " at index " +
                                        std::to_string(i) + " is outside the vocabulary [0, " +
                                        std::to_string(vocab) + ")");
}

std::vector<std::int32_t> tokens_left_to_host(const SampleStep &step, std::int64_t batch) {
  std::vector<std::int32_t> tokens(static_cast<std::size_t>(batch), kTokenOnHost);
  for (std::size_t b = 0; b < tokens.size(); ++b)
    if (b < step.active.size() && !step.active[b]) tokens[b] = kTokenNotWanted;
  return tokens;
}

}  // namespace gptq
