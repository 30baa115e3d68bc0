// gptq config: validate a configuration (JSON text or file) and print it with
// every default filled in, as the library will use it.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/failure.h"
#include "cli/read_file.h"

namespace gptq::cli {
namespace {

gptq_config_kind kind_from_name(const std::string &name) {
  if (name == "quantize") return GPTQ_CONFIG_QUANTIZE;
  if (name == "calibration") return GPTQ_CONFIG_CALIBRATION;
  if (name == "runtime") return GPTQ_CONFIG_RUNTIME;
  if (name == "generation") return GPTQ_CONFIG_GENERATION;
  if (name == "eval") return GPTQ_CONFIG_EVAL;
  throw UsageError{"unknown config kind '" + name +
                   "' (one of: quantize, calibration, runtime, generation, eval)"};
}

}  // namespace

int run_config(int argc, char **argv) {
  Args args("config", "KIND [JSON] [-f FILE]",
            "Validates a configuration against the schema built into the library and prints\n"
            "it with every default filled in. KIND is quantize, calibration, runtime,\n"
            "generation or eval. Without JSON or -f, prints the defaults.");
  args.positional("KIND", "quantize | calibration | runtime | generation | eval")
      .positional("JSON", "the configuration as JSON text", false)
      .option("file", "FILE", "read the JSON from FILE", "f")
      .flag("schema", "print the whole schema (flatbuffers IDL with bounds and docs) instead");
  if (!args.parse(argc, argv)) return 0;
  if (args.has("schema")) {
    std::fputs(gptq_config_schema(), stdout);
    return 0;
  }
  gptq_config_kind kind = kind_from_name(*args.get("KIND"));
  std::string json = args.get_or("JSON", "");
  if (auto file = args.get("file")) {
    if (args.has("JSON")) throw UsageError{"give the JSON as an argument or with -f, not both"};
    if (!read_file(*file, &json)) return 1;
  }
  size_t need = 0;
  gptq_status st = gptq_config_convert(kind, json.data(), json.size(), GPTQ_ENCODING_JSON,
                                       GPTQ_ENCODING_JSON, nullptr, 0, &need);
  if (st != GPTQ_ERR_BUFFER_TOO_SMALL) return report_failure(st);
  std::string out(need + 1, '\0');
  st = gptq_config_convert(kind, json.data(), json.size(), GPTQ_ENCODING_JSON, GPTQ_ENCODING_JSON,
                           out.data(), out.size(), &need);
  if (st != GPTQ_OK) return report_failure(st);
  out.resize(need);
  std::printf("%s\n", out.c_str());
  return 0;
}

}  // namespace gptq::cli
