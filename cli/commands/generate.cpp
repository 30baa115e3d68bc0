// gptq generate: stream a continuation of a prompt to stdout.
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/failure.h"
#include "cli/schema_defaults.h"
#include "cli/session.h"

namespace gptq::cli {
namespace {

int print_piece(void *, const char *piece, int32_t) {
  std::fputs(piece, stdout);
  std::fflush(stdout);
  return 0;
}

// The session and its handle, freed on every path out.
struct GenerationSession {
  gptq_session *handle = nullptr;
  ~GenerationSession() { gptq_session_destroy(handle); }
};

}  // namespace

int run_generate(int argc, char **argv) {
  const nlohmann::json d = schema_defaults(GPTQ_CONFIG_GENERATION);  // the library's, as gptq_session_create's
  Args args("generate", "MODEL_DIR -p TEXT [sampling options] [--stop S ...]",
            "Generates a continuation of the prompt and streams it to stdout (the prompt\n"
            "itself is not printed). Greedy with --temperature 0; sampling is seeded, so\n"
            "the same options give the same text.");
  args.positional("MODEL_DIR", "the model directory (float or GPTQ)")
      .option("prompt", "TEXT", "the prompt", "p")
      .option("max-new-tokens", "N", "tokens to generate at most (default " + default_text(d["max_new_tokens"]) + ")",
              "n")
      .option("temperature", "F", "softmax temperature; 0 is greedy (default " + default_text(d["temperature"]) + ")")
      .option("top-k", "N", "sample from the N most likely tokens, 0 for all (default " + default_text(d["top_k"]) + ")")
      .option("top-p", "F", "nucleus sampling mass, 1 for all (default " + default_text(d["top_p"]) + ")")
      .option("repetition-penalty", "F",
              "CTRL-style penalty on seen tokens, 1 for none (default " + default_text(d["repetition_penalty"]) + ")")
      .option("seed", "N", "seed of the sampler (default " + default_text(d["seed"]) + ")")
      .option("stop", "S", "stop before this string (repeatable; not printed)")
      .flag("ignore-eos", "keep going past the end-of-sequence token")
      .option("backend", "NAME", "where the model runs: auto (default: CUDA when a GPU is usable, else the CPU), cpu or cuda")
      .option("threads", "N", "CPU threads (default: one per core)");
  if (!args.parse(argc, argv)) return 0;
  if (!args.has("prompt")) throw UsageError{"missing -p TEXT"};
  nlohmann::json config = nlohmann::json::object();
  if (auto n = args.get_int("max-new-tokens")) config["max_new_tokens"] = *n;
  if (auto f = args.get_double("temperature")) config["temperature"] = *f;
  if (auto n = args.get_int("top-k")) config["top_k"] = *n;
  if (auto f = args.get_double("top-p")) config["top_p"] = *f;
  if (auto f = args.get_double("repetition-penalty")) config["repetition_penalty"] = *f;
  if (auto n = args.get_int("seed")) {
    if (*n < 0) throw UsageError{"--seed expects a non-negative integer"};
    config["seed"] = *n;
  }
  if (args.has("stop")) {
    args.require_utf8("stop", "generated text is always UTF-8, so it could never contain this stop string");
    config["stop"] = args.get_all("stop");
  }
  if (args.has("ignore-eos")) config["stop_at_eos"] = false;

  Session session;
  const std::string backend = args.get_choice("backend", {"auto", "cpu", "cuda"}, "auto");
  if (gptq_status st = session.create_backend_context(backend, args.get_int("threads"), !args.has("json")); st != GPTQ_OK)
    return report_failure(st);
  if (gptq_status st = session.open_model(*args.get("MODEL_DIR")); st != GPTQ_OK) return report_failure(st);
  GenerationSession gen;
  if (gptq_status st = gptq_session_create(session.context, session.model, config.dump().c_str(), &gen.handle);
      st != GPTQ_OK)
    return report_failure(st);
  const std::string prompt = *args.get("prompt");
  if (gptq_status st = gptq_generate(gen.handle, prompt.data(), prompt.size(), print_piece, nullptr);
      st != GPTQ_OK) {
    std::fputc('\n', stdout);
    return report_failure(st);
  }
  std::fputc('\n', stdout);
  return 0;
}

}  // namespace gptq::cli
