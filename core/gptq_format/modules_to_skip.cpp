#include "core/gptq_format/modules_to_skip.h"

#include <string>

namespace gptq::quant {

bool is_module_skipped(const schema::QuantizeConfigT &config, std::string_view name) {
  for (const std::string &entry : config.modules_to_skip) {
    if (entry.empty()) continue;
    if (name == entry) return true;
    if (name.size() > entry.size() && name.ends_with(entry) &&
        name[name.size() - entry.size() - 1] == '.')
      return true;
  }
  return false;
}

}  // namespace gptq::quant
