// gptq info: what this libgptq is and where it would run.
#include <cstdio>
#include <string>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/failure.h"

namespace gptq::cli {

int run_info(int argc, char **argv) {
  Args args("info", "[--backend auto|cpu|cuda] [--json]",
            "Prints the library version and ABI, and the backend and device a context gets.");
  args.option("backend", "NAME", "backend to ask for: auto (default), cpu or cuda")
      .flag("verbose", "print the library's log lines (why a backend was chosen)", "v")
      .flag("json", "print one JSON object on stdout");
  if (!args.parse(argc, argv)) return 0;

  std::string runtime = "{\"backend\": \"" + args.get_or("backend", "auto") + "\"" +
                        (args.has("verbose") ? ", \"log_level\": \"info\"" : "") + "}";
  gptq_context *ctx = nullptr;
  if (gptq_status st = gptq_context_create(runtime.c_str(), &ctx); st != GPTQ_OK)
    return report_failure(st);
  const char *backend = nullptr, *device = nullptr, *config = nullptr;
  gptq_status st = gptq_context_backend(ctx, &backend);
  if (st == GPTQ_OK) st = gptq_context_device_name(ctx, &device);
  if (st == GPTQ_OK) st = gptq_context_runtime_json(ctx, &config);
  if (st != GPTQ_OK) {
    gptq_context_destroy(ctx);
    return report_failure(st);
  }
  if (args.has("json")) {
    std::printf("{\"version\": \"%s\", \"abi\": %u, \"backend\": \"%s\", \"runtime\": %s}\n",
                gptq_version(), gptq_abi_version(), backend, config);
  } else {
    std::printf("libgptq %s (ABI %u)\nbackend: %s\ndevice:  %s\n", gptq_version(),
                gptq_abi_version(), backend, device);
  }
  gptq_context_destroy(ctx);
  return 0;
}

}  // namespace gptq::cli
