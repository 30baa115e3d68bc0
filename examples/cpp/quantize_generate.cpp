// Quantizes a Hugging Face model to 4 bits with GPTQ (or loads the GPTQ
// checkpoint already in the output folder), then streams a greedy
// continuation of a prompt: what a C++ program does with gptq.h. The handles
// live in std::unique_ptr with their destroy functions, a failed call
// becomes an exception carrying gptq_last_error(), and the callbacks are
// captureless lambdas that throw nothing (no exception may cross the library).
//
//   example_cpp_quantize_generate <model_dir> <calibration.txt> <out_dir> [prompt]
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

#include "gptq/gptq.h"

namespace {

template <class T, void (*Destroy)(T *)>
struct Deleter {
  void operator()(T *p) const { Destroy(p); }
};
using Context = std::unique_ptr<gptq_context, Deleter<gptq_context, gptq_context_destroy>>;
using Model = std::unique_ptr<gptq_model, Deleter<gptq_model, gptq_model_destroy>>;
using Session = std::unique_ptr<gptq_session, Deleter<gptq_session, gptq_session_destroy>>;

void check(gptq_status status, const char *what) {
  if (status != GPTQ_OK)
    throw std::runtime_error(std::string(what) + ": " + gptq_status_name(status) + ": " + gptq_last_error());
}

// A JSON string literal of s (the calibration path goes into the config).
std::string json_string(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

void run(const std::string &model_dir, const std::string &calibration, const std::string &out_dir,
         const std::string &prompt) {
  gptq_context *raw_ctx = nullptr;
  check(gptq_context_create(nullptr, &raw_ctx), "context");
  Context ctx(raw_ctx);
  const char *backend = "", *device = "";
  check(gptq_context_backend(ctx.get(), &backend), "backend");
  check(gptq_context_device_name(ctx.get(), &device), "device");
  std::cout << "libgptq " << gptq_version() << " on " << backend << " (" << device << ")\n";

  if (std::filesystem::exists(out_dir)) {
    std::cout << "loading the GPTQ checkpoint in " << out_dir << "\n";
  } else {
    const std::string config = R"({"bits": 4, "group_size": 128, "calibration": {"files": [)" +
                               json_string(calibration) + R"(], "nsamples": 16, "seqlen": 128}})";
    std::uint64_t last_quarter = UINT64_MAX;
    auto progress = [](void *user, const char *stage, std::uint64_t done, std::uint64_t total) -> int {
      auto &last = *static_cast<std::uint64_t *>(user);
      const std::uint64_t percent = total ? done * 100 / total : 0;
      if (std::string(stage) == "quantize" && percent / 25 != last) {
        last = percent / 25;
        std::cout << "quantizing: " << percent << "%" << std::endl;
      }
      return 0;  // non-zero would cancel
    };
    const char *report = nullptr;  // QuantizeReport JSON, owned by ctx
    check(gptq_quantize_model(ctx.get(), model_dir.c_str(), config.c_str(), out_dir.c_str(), progress,
                              &last_quarter, &report),
          "quantize");
    std::cout << "wrote " << out_dir << "\n";
  }

  gptq_model *raw_model = nullptr;
  check(gptq_model_open(ctx.get(), out_dir.c_str(), &raw_model), "open");
  Model model(raw_model);
  gptq_session *raw_session = nullptr;
  check(gptq_session_create(ctx.get(), model.get(), R"({"temperature": 0, "max_new_tokens": 24})", &raw_session),
        "session");
  Session session(raw_session);
  std::cout << prompt << std::flush;
  auto on_token = [](void *, const char *piece, std::int32_t) -> int {
    std::cout << piece << std::flush;
    return 0;  // non-zero would stop
  };
  check(gptq_generate(session.get(), prompt.data(), prompt.size(), on_token, nullptr), "generate");
  std::cout << "\n";
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 4 || argc > 5) {
    std::cerr << "usage: " << argv[0] << " <model_dir> <calibration.txt> <out_dir> [prompt]\n";
    return 2;
  }
  try {
    run(argv[1], argv[2], argv[3], argc == 5 ? argv[4] : "To create a table in PostgreSQL, use the");
  } catch (const std::exception &e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
