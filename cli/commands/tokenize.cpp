// gptq tokenize: a tokenizer's ids for a text, as Hugging Face gives them. The
// tokenizer is opened on its own (gptq_tokenizer_open): a model directory works
// without its weights or config.json, and so do a tokenizer directory or file.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/failure.h"
#include "cli/read_file.h"
#include "gptq/gptq.h"

namespace gptq::cli {

int run_tokenize(int argc, char **argv) {
  Args args("tokenize", "PATH (-p TEXT | -f FILE) [--no-special] [--json]",
            "Prints the token ids of a text, the same ids as transformers'\n"
            "tokenizer(text)[\"input_ids\"]. PATH is a model directory, a directory\n"
            "holding tokenizer.json, or a tokenizer.json file.");
  args.positional("PATH", "a model directory, a tokenizer directory or a tokenizer.json file")
      .option("prompt", "TEXT", "the text", "p")
      .option("file", "FILE", "read the text from FILE (bytes as they are)", "f")
      .flag("no-special", "leave out the special tokens the tokenizer adds (e.g. BOS)")
      .flag("json", "print {\"ids\": [...], \"count\": N} on stdout");
  if (!args.parse(argc, argv)) return 0;
  if (args.has("prompt") == args.has("file")) throw UsageError{"give exactly one of -p TEXT or -f FILE"};
  std::string text;
  if (auto p = args.get("prompt")) {
    text = *p;
  } else {
    if (!read_file(*args.get("file"), &text)) return 1;
  }
  gptq_tokenizer *tokenizer = nullptr;
  if (gptq_status st = gptq_tokenizer_open(args.get("PATH")->c_str(), &tokenizer); st != GPTQ_OK)
    return report_failure(st);
  const std::unique_ptr<gptq_tokenizer, void (*)(gptq_tokenizer *)> owner(tokenizer, gptq_tokenizer_destroy);
  const uint32_t flags = args.has("no-special") ? GPTQ_TOKENIZE_NO_SPECIAL : 0;
  // Room for one id per byte plus specials covers every tokenizer we read; the
  // size protocol handles any other.
  std::vector<int32_t> ids(text.size() + 8);
  size_t n = 0;
  gptq_status st = gptq_tokenize(tokenizer, text.data(), text.size(), flags, ids.data(), ids.size(), &n);
  if (st == GPTQ_ERR_BUFFER_TOO_SMALL) {
    ids.resize(n);
    st = gptq_tokenize(tokenizer, text.data(), text.size(), flags, ids.data(), ids.size(), &n);
  }
  if (st != GPTQ_OK) return report_failure(st);
  ids.resize(n);
  std::string out = args.has("json") ? "{\"count\": " + std::to_string(n) + ", \"ids\": [" : "";
  for (size_t i = 0; i < n; ++i) {
    if (i) out += args.has("json") ? ", " : " ";
    out += std::to_string(ids[i]);
  }
  if (args.has("json")) out += "]}";
  std::printf("%s\n", out.c_str());
  return 0;
}

}  // namespace gptq::cli
