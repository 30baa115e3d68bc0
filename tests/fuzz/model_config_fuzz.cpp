// Arbitrary bytes as config.json. Anything but gptq::Error escaping is a bug;
// a config that parses must also yield its expected tensor list.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/base/error.h"
#include "core/model/expected_tensors.h"
#include "core/model/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  try {
    const gptq::model::ModelSpec spec = gptq::model::parse_model_config(
        std::string_view(reinterpret_cast<const char *>(data), size), "fuzz-config.json");
    // Bounded so one input cannot take seconds; the parser caps layers anyway.
    if (spec.num_layers <= 64) {
      volatile std::size_t n = gptq::model::expected_tensors(spec).size();
      (void)n;
    }
  } catch (const gptq::Error &) {
  }
  return 0;
}
