// A test model of ../shared quantized the way a golden recorded it: its
// QuantizeConfig JSON, calibration files relative to ../shared. The
// checkpoint goes to a fresh folder under the temp directory, which the
// caller removes.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "core/config/typed.h"
#include "core/base/log.h"
#include "core/model/model.h"
#include "core/base/progress.h"
#include "core/pipeline/quantize_model.h"
#include "tests/support/shared_data.h"
#include "tests/support/test_compute.h"
#include "tests/support/test_engines.h"

namespace gptq::testing {

// `tag` keeps the folders of different tests apart.
inline std::filesystem::path quantize_shared_model(const std::filesystem::path &source,
                                                   const nlohmann::json &config_json, const std::string &tag) {
  nlohmann::json cfg = config_json;
  if (cfg.contains("calibration"))
    for (auto &f : cfg["calibration"]["files"]) f = shared_path(f.get<std::string>()).string();
  const auto out = std::filesystem::temp_directory_path() /
                   ("gptq_" + tag + "_" + source.filename().string() + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(out);
  Logger log;
  quant::quantize_model(*model::Model::open(source), config::parse_quantize_config(cfg.dump()), out, {}, test_pool(),
                        test_quantize_engine(), test_forward_engine(), Progress(), log);
  return out;
}

}  // namespace gptq::testing
