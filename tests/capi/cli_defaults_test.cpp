// The CLI has no defaults of its own: `gptq quantize` with only the model, the
// output and the calibration text writes the very checkpoint that
// gptq_quantize_model writes from a config naming only the calibration.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gptq/gptq.h"
#include "tests/support/shared_data.h"

namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path &p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// Runs argv[0] with argv, stdout and stderr to /dev/null; its exit status.
int run(const std::vector<std::string> &args) {
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char *> argv;
    for (const auto &a : args) argv.push_back(const_cast<char *>(a.c_str()));
    argv.push_back(nullptr);
    if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr)) _exit(126);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(CliDefaults, CliAndApiWriteTheSameCheckpoint) {
  const fs::path src = gptq::testing::source_dir();
  const fs::path model = src / "demo/docs-llama-tiny";
  const fs::path calib = src / "demo/text/calib.txt";
  const fs::path tmp = fs::temp_directory_path() / ("gptq_cli_defaults_" + std::to_string(getpid()));
  fs::remove_all(tmp);
  fs::create_directories(tmp);

  gptq_context *ctx = nullptr;
  ASSERT_EQ(gptq_context_create(R"({"backend": "cpu"})", &ctx), GPTQ_OK) << gptq_last_error();
  const std::string config =
      R"({"calibration": {"files": [")" + calib.string() + R"("], "nsamples": 2, "seqlen": 64}})";
  const char *report = nullptr;
  const gptq_status st =
      gptq_quantize_model(ctx, model.c_str(), config.c_str(), (tmp / "api").c_str(), nullptr, nullptr, &report);
  gptq_context_destroy(ctx);
  ASSERT_EQ(st, GPTQ_OK) << gptq_last_error();

  ASSERT_EQ(run({GPTQ_CLI_PATH, "quantize", model.string(), "--out", (tmp / "cli").string(), "--calib",
                 calib.string(), "--nsamples", "2", "--seqlen", "64", "--threads", "2"}),
            0);
  for (const char *file : {"model.safetensors", "config.json", "quantize_config.json"})
    EXPECT_EQ(read_file(tmp / "api" / file), read_file(tmp / "cli" / file)) << file << " differs";
  EXPECT_FALSE(read_file(tmp / "api/model.safetensors").empty());
  fs::remove_all(tmp);
}

}  // namespace
