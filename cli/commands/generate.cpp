// gptq generate: stream a continuation of a prompt to stdout, or generate
// several prompts as one batch.
#include <cstdio>
#include <string>
#include <vector>

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

// A batch's texts, one per prompt, gathered as they come. `failed` is set
// when one could not grow (nothing may throw through the library).
struct BatchTexts {
  std::vector<std::string> texts;
  bool failed = false;
};

int collect_piece(void *user, size_t sequence, const char *piece, int32_t) {
  auto *batch = static_cast<BatchTexts *>(user);
  try {
    batch->texts[sequence] += piece;
    return 0;
  } catch (...) {
    batch->failed = true;
    return 1;
  }
}

// Prints each sequence's text after "[index] ", in the prompts' order; after
// a failure only those that got some.
void print_batch(const BatchTexts &batch, bool failed) {
  for (size_t i = 0; i < batch.texts.size(); ++i)
    if (!failed || !batch.texts[i].empty()) std::printf("[%zu] %s\n", i, batch.texts[i].c_str());
  std::fflush(stdout);
}

// The session and its handle, freed on every path out.
struct GenerationSession {
  gptq_session *handle = nullptr;
  ~GenerationSession() { gptq_session_destroy(handle); }
};

}  // namespace

int run_generate(int argc, char **argv) {
  const nlohmann::json d = schema_defaults(GPTQ_CONFIG_GENERATION);  // the library's, as gptq_session_create's
  Args args("generate", "MODEL_DIR -p TEXT [-p TEXT ...] [sampling options] [--stop S ...]",
            "Generates a continuation of the prompt and streams it to stdout (the prompt\n"
            "itself is not printed). Greedy with --temperature 0; sampling is seeded, so\n"
            "the same options give the same text. Several -p generate their prompts as one\n"
            "batch, each as it would alone, and print each text when all are done, on a\n"
            "line that starts with the prompt's index: \"[0] text\".");
  args.positional("MODEL_DIR", "the model directory (float or GPTQ)")
      .option("prompt", "TEXT", "the prompt (repeatable: a batch)", "p")
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
      .option("threads", "N", "CPU threads (default: one per core)")
      .flag("verbose", "print the library's log lines on stderr (what it decided and why)", "v");
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
  if (gptq_status st = session.create_backend_context(backend, args.get_int("threads"), !args.has("json"),
                                                        args.has("verbose")); st != GPTQ_OK)
    return report_failure(st);
  if (gptq_status st = session.open_model(*args.get("MODEL_DIR")); st != GPTQ_OK) return report_failure(st);
  GenerationSession gen;
  if (gptq_status st = gptq_session_create(session.context, session.model, config.dump().c_str(), &gen.handle);
      st != GPTQ_OK)
    return report_failure(st);
  const std::vector<std::string> prompts = args.get_all("prompt");
  if (prompts.size() == 1) {
    if (gptq_status st = gptq_generate(gen.handle, prompts[0].data(), prompts[0].size(), print_piece, nullptr);
        st != GPTQ_OK) {
      std::fputc('\n', stdout);
      return report_failure(st);
    }
    std::fputc('\n', stdout);
    return 0;
  }
  // A batch is not streamed: its sequences' pieces come interleaved, which
  // would be unreadable on one stdout. Each text is printed whole at the end
  // (also what came before a failure, so that nothing generated is lost).
  std::vector<const char *> data;
  std::vector<size_t> lens;
  for (const std::string &p : prompts) {
    data.push_back(p.data());
    lens.push_back(p.size());
  }
  BatchTexts batch;
  batch.texts.resize(prompts.size());
  const gptq_status st =
      gptq_generate_batch(gen.handle, data.data(), lens.data(), prompts.size(), collect_piece, &batch);
  print_batch(batch, st != GPTQ_OK);
  if (st != GPTQ_OK) return report_failure(st);
  if (batch.failed) {
    std::fprintf(stderr, "gptq: error (OUT_OF_MEMORY): gathering the generated texts\n");
    return 1;
  }
  return 0;
}

}  // namespace gptq::cli
