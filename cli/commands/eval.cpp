// gptq eval: perplexity of a model on a text file, with the project's protocol
// (non-overlapping windows, the GPTQ paper's wikitext-2 evaluation).
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/failure.h"
#include "cli/read_file.h"
#include "cli/schema_defaults.h"
#include "cli/session.h"

namespace gptq::cli {
namespace {

// Rewrites one stderr line per window; never cancels.
int print_progress(void *, const char *stage, uint64_t done, uint64_t total) {
  std::fprintf(stderr, "\r%s: window %llu/%llu", stage, static_cast<unsigned long long>(done),
               static_cast<unsigned long long>(total));
  if (done == total) std::fputc('\n', stderr);
  std::fflush(stderr);
  return 0;
}

}  // namespace

int run_eval(int argc, char **argv) {
  const nlohmann::json d = schema_defaults(GPTQ_CONFIG_EVAL);  // the library's, as gptq_perplexity's
  Args args("eval", "MODEL_DIR --ppl FILE [--seqlen N] [--max-windows N] [--json]",
            "Perplexity of the model on a UTF-8 text file: the whole text tokenized as\n"
            "transformers does, cut into non-overlapping windows of --seqlen tokens (the\n"
            "remainder dropped), exp(mean NLL) of the next-token predictions. Runs on a CUDA\n"
            "GPU when one is usable, else on the CPU, unless --backend says otherwise.");
  args.positional("MODEL_DIR", "the model directory (float or GPTQ)")
      .option("ppl", "FILE", "the text to measure perplexity on")
      .option("seqlen", "N", "tokens per window (default " + default_text(d["seqlen"]) + ")")
      .option("max-windows", "N", "evaluate only the first N windows (default: all)")
      .option("backend", "NAME", "where the model runs: auto (default: CUDA when a GPU is usable, else the CPU), cpu or cuda")
      .option("threads", "N", "CPU threads (default: one per core)")
      .flag("verbose", "print the library's log lines on stderr (what it decided and why)", "v")
      .flag("json", "print the library's EvalReport (ppl, nll, windows, tokens, ...) as JSON on stdout");
  if (!args.parse(argc, argv)) return 0;
  if (!args.has("ppl")) throw UsageError{"missing --ppl FILE"};
  nlohmann::json config = nlohmann::json::object();
  if (auto n = args.get_int("seqlen")) config["seqlen"] = *n;
  if (auto n = args.get_int("max-windows")) config["max_windows"] = *n;

  const std::string path = *args.get("ppl");
  std::string text;
  if (!read_file(path, &text)) return 1;

  Session session;
  const std::string backend = args.get_choice("backend", {"auto", "cpu", "cuda"}, "auto");
  if (gptq_status st = session.create_backend_context(backend, args.get_int("threads"), !args.has("json"),
                                                        args.has("verbose")); st != GPTQ_OK)
    return report_failure(st);
  if (gptq_status st = session.open_model(*args.get("MODEL_DIR")); st != GPTQ_OK) return report_failure(st);
  const bool json = args.has("json");
  const char *report = nullptr;
  gptq_status st = gptq_evaluate(session.context, session.model, text.data(), text.size(), config.dump().c_str(),
                                 json ? nullptr : print_progress, nullptr, &report);
  if (st != GPTQ_OK) return report_failure(st);
  if (json) {
    std::printf("%s\n", report);
    return 0;
  }
  const nlohmann::json r = nlohmann::json::parse(report);
  const double seconds = r.at("seconds").get<double>();
  const auto tokens = r.at("tokens").get<long long>();
  std::printf("perplexity %.4f (%lld windows, %lld tokens) in %.1f s, %.0f tokens/s\n", r.at("ppl").get<double>(),
              r.at("windows").get<long long>(), tokens, seconds, seconds > 0 ? tokens / seconds : 0.0);
  return 0;
}

}  // namespace gptq::cli
