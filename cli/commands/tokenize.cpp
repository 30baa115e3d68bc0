// gptq tokenize: the model's token ids for a text, as Hugging Face gives them.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/failure.h"
#include "cli/read_file.h"
#include "cli/session.h"

namespace gptq::cli {

int run_tokenize(int argc, char **argv) {
  Args args("tokenize", "MODEL_DIR (-p TEXT | -f FILE) [--no-special] [--json]",
            "Prints the token ids of a text with the model's tokenizer (tokenizer.json),\n"
            "the same ids as transformers' tokenizer(text)[\"input_ids\"].");
  args.positional("MODEL_DIR", "the model directory")
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
  Session session;
  if (gptq_status st = session.open_model(*args.get("MODEL_DIR")); st != GPTQ_OK)
    return report_failure(st);
  const uint32_t flags = args.has("no-special") ? GPTQ_TOKENIZE_NO_SPECIAL : 0;
  // Room for one id per byte plus specials covers every tokenizer we read; the
  // size protocol handles any other.
  std::vector<int32_t> ids(text.size() + 8);
  size_t n = 0;
  gptq_status st = gptq_tokenize(session.model, text.data(), text.size(), flags, ids.data(),
                                 ids.size(), &n);
  if (st == GPTQ_ERR_BUFFER_TOO_SMALL) {
    ids.resize(n);
    st = gptq_tokenize(session.model, text.data(), text.size(), flags, ids.data(), ids.size(), &n);
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
