// Cuts streamed text at the first stop string. Text is released only once it
// cannot be part of a stop string: a tail that is a prefix of one is held back
// until more text shows whether the stop string follows. The stop string itself
// and everything after it are never released.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gptq::eval {

class StopStringFilter {
 public:
  explicit StopStringFilter(std::vector<std::string> stops);

  // Adds text; returns what may now be released. After a stop string is seen,
  // stopped() is true and further text is ignored.
  std::string push(std::string_view text);
  // The held-back text, at the end of the stream (nothing after a stop).
  std::string finish();
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;  // empty strings dropped
  std::string pending_;             // text not yet released
  bool stopped_ = false;
};

}  // namespace gptq::eval
