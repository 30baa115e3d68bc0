// Progress: how long work reports how far it is, and learns that it should
// stop. Every long loop in core calls report() at least once per unit of work
// (a sublayer, a window, a shard); when the caller's callback asks to stop,
// report() throws Error(Cancelled) and RAII cleans up what was half done.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <utility>

#include "core/error.h"

namespace gptq {

class Progress {
 public:
  // Returns true to go on, false to cancel.
  using Callback = std::function<bool(std::string_view stage, uint64_t done, uint64_t total)>;

  Progress() = default;
  explicit Progress(Callback callback) : callback_(std::move(callback)) {}

  // Tells the callback (if any) that `done` of `total` units of `stage` are
  // done; total 0 means unknown. Throws Error(Cancelled) if it asks to stop.
  void report(std::string_view stage, uint64_t done, uint64_t total) const {
    if (callback_ && !callback_(stage, done, total)) {
      fail(Status::Cancelled, std::string("cancelled by the progress callback during ") +
                                  std::string(stage));
    }
  }

 private:
  Callback callback_;
};

}  // namespace gptq
