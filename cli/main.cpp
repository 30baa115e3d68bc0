// gptq: the command-line tool, built only on the public C API (gptq.h).
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "cli/args.h"
#include "cli/commands.h"
#include "gptq/gptq.h"

namespace {

struct Command {
  const char *name;
  int (*run)(int, char **);
  const char *summary;
};

const Command kCommands[] = {
    {"info", gptq::cli::run_info, "library version, backend and device"},
    {"config", gptq::cli::run_config, "validate a configuration and print it with all defaults"},
    {"inspect", gptq::cli::run_inspect, "architecture, sizes, quantization and tensors of a model"},
    {"quantize", gptq::cli::run_quantize, "GPTQ a float model into a Hugging Face GPTQ checkpoint"},
    {"tokenize", gptq::cli::run_tokenize, "token ids of a text (model directory, tokenizer directory or tokenizer.json)"},
    {"eval", gptq::cli::run_eval, "perplexity of a model on a text file"},
    {"generate", gptq::cli::run_generate, "stream a continuation of a prompt"},
};

void print_usage(FILE *out) {
  std::fprintf(out, "usage: gptq <command> [options]   (gptq <command> --help for details)\n\n");
  std::fprintf(out, "libgptq %s: GPTQ quantization and int4 inference.\n\ncommands:\n", gptq_version());
  for (const auto &c : kCommands) std::fprintf(out, "  %-10s %s\n", c.name, c.summary);
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    print_usage(stderr);
    return 2;
  }
  std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(stdout);
    return 0;
  }
  if (name == "--version") {
    std::printf("gptq %s (ABI %u)\n", gptq_version(), gptq_abi_version());
    return 0;
  }
  for (const auto &c : kCommands) {
    if (name == c.name) {
      try {
        return c.run(argc - 2, argv + 2);
      } catch (const gptq::cli::UsageError &e) {
        std::fprintf(stderr, "gptq %s: %s\n", c.name, e.message.c_str());
        return 2;
      } catch (const std::bad_alloc &) {
        std::fprintf(stderr, "gptq %s: error: out of memory\n", c.name);
        return 1;
      } catch (const std::exception &e) {
        // Whatever a command did not foresee ends here with its message,
        // never as an abort.
        std::fprintf(stderr, "gptq %s: error: %s\n", c.name, e.what());
        return 1;
      } catch (...) {
        std::fprintf(stderr, "gptq %s: error: unknown exception\n", c.name);
        return 1;
      }
    }
  }
  std::fprintf(stderr, "gptq: unknown command '%s'\n\n", name.c_str());
  print_usage(stderr);
  return 2;
}
