// gptq inspect: what a model directory holds — architecture, sizes, dtype,
// shards, quantization, and a table of its tensors.
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/failure.h"
#include "cli/session.h"

namespace gptq::cli {
namespace {

std::string shape_text(const nlohmann::json &shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + shape[i].dump();
  return out + "]";
}

std::string human_count(double n) {
  char buf[32];
  if (n >= 1e9) std::snprintf(buf, sizeof buf, "%.2fB", n / 1e9);
  else if (n >= 1e6) std::snprintf(buf, sizeof buf, "%.2fM", n / 1e6);
  else std::snprintf(buf, sizeof buf, "%.0f", n);
  return buf;
}

void print_text(const nlohmann::json &info, bool tensors) {
  std::printf("model:        %s\n", info["directory"].get<std::string>().c_str());
  std::printf("architecture: %s (model_type %s)\n", info["architecture"].get<std::string>().c_str(),
              info["model_type"].get<std::string>().c_str());
  std::printf("parameters:   %s\n", human_count(info["parameters"].get<double>()).c_str());
  std::printf("layers %d, hidden %d, heads %d (kv %d, head_dim %d), intermediate %d, vocab %d, "
              "context %d\n",
              info["num_layers"].get<int>(), info["hidden_size"].get<int>(),
              info["num_heads"].get<int>(), info["num_kv_heads"].get<int>(),
              info["head_dim"].get<int>(), info["intermediate_size"].get<int>(),
              info["vocab_size"].get<int>(), info["max_position_embeddings"].get<int>());
  std::printf("dtype:        %s\n", info["dtype"].get<std::string>().c_str());
  const auto &q = info["quantization"];
  if (q.is_null()) {
    std::printf("quantization: none (floating point)\n");
  } else {
    std::printf("quantization: GPTQ %d-bit, group %d, desc_act %s, sym %s, format %s\n",
                q["bits"].get<int>(), q["group_size"].get<int>(), q["desc_act"].get<bool>() ? "yes" : "no",
                q["sym"].get<bool>() ? "yes" : "no", q["checkpoint_format"].get<std::string>().c_str());
  }
  std::printf("shards:       %zu\n", info["shards"].size());
  for (const auto &s : info["shards"]) std::printf("  %s\n", s.get<std::string>().c_str());
  std::printf("tensors:      %zu\n", info["tensors"].size());
  if (!tensors) return;
  std::printf("  %-52s %-5s %-16s %s\n", "name", "dtype", "shape", "shard");
  for (const auto &t : info["tensors"]) {
    std::printf("  %-52s %-5s %-16s %s\n", t["name"].get<std::string>().c_str(),
                t["dtype"].get<std::string>().c_str(), shape_text(t["shape"]).c_str(),
                t["shard"].get<std::string>().c_str());
  }
}

}  // namespace

int run_inspect(int argc, char **argv) {
  Args args("inspect", "MODEL_DIR [--json] [--no-tensors]",
            "Prints what a Hugging Face model directory (float or GPTQ) holds:\n"
            "architecture, sizes, dtype, quantization, shards and a table of tensors.");
  args.positional("MODEL_DIR", "the model directory")
      .flag("json", "print the library's ModelInfo as one JSON object on stdout")
      .flag("no-tensors", "leave out the tensor table");
  if (!args.parse(argc, argv)) return 0;
  Session session;
  if (gptq_status st = session.open_model(*args.get("MODEL_DIR")); st != GPTQ_OK)
    return report_failure(st);
  const char *json = nullptr;
  if (gptq_status st = gptq_model_info_json(session.model, &json); st != GPTQ_OK)
    return report_failure(st);
  if (args.has("json")) {
    auto info = nlohmann::json::parse(json);
    if (args.has("no-tensors")) info.erase("tensors");
    std::printf("%s\n", info.dump().c_str());
    return 0;
  }
  print_text(nlohmann::json::parse(json), !args.has("no-tensors"));
  return 0;
}

}  // namespace gptq::cli
