#include "cli/schema_defaults.h"

#include <cstdio>
#include <stdexcept>
#include <vector>

namespace gptq::cli {

nlohmann::json schema_defaults(gptq_config_kind kind) {
  const char empty[] = "{}";
  size_t size = 0;
  gptq_status st = gptq_config_convert(kind, empty, sizeof empty - 1, GPTQ_ENCODING_JSON, GPTQ_ENCODING_JSON,
                                       nullptr, 0, &size);
  if (st == GPTQ_ERR_BUFFER_TOO_SMALL) {
    std::vector<char> out(size + 1);
    st = gptq_config_convert(kind, empty, sizeof empty - 1, GPTQ_ENCODING_JSON, GPTQ_ENCODING_JSON, out.data(),
                             out.size(), &size);
    if (st == GPTQ_OK) return nlohmann::json::parse(std::string(out.data(), size));
  }
  throw std::runtime_error(std::string("the library's defaults could not be read: ") + gptq_last_error());
}

std::string default_text(const nlohmann::json &value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_float()) {
    // The schema's floats are float32: print the shortest text that reads back
    // as the same float (0.05, not 0.05000000074505806).
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", value.get<double>());
    return buf;
  }
  return value.dump();
}

}  // namespace gptq::cli
