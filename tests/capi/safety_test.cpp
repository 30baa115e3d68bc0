// Issue 12's "safe with any input" through the C API, on the repo's demo model
// (demo/docs-llama-tiny, 512 positions): whatever a caller passes comes back
// as a status and a message — never an abort, a hang, lost files or a value
// silently replaced. tests/cli/safety_test.py tries the same through the CLI.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gptq/gptq.h"
#include "tests/support/shared_data.h"

namespace fs = std::filesystem;

namespace {

const fs::path kDemo = gptq::testing::source_dir() / "demo" / "docs-llama-tiny";

std::map<std::string, std::string> tree(const fs::path &dir) {
  std::map<std::string, std::string> out;
  for (const auto &e : fs::recursive_directory_iterator(dir)) {
    std::ifstream in(e.path(), std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    out[fs::relative(e.path(), dir).string()] = e.is_directory() ? "/" : ss.str();
  }
  return out;
}

class SafetyApi : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(gptq_context_create(R"({"backend": "cpu", "threads": 1})", &ctx_), GPTQ_OK) << gptq_last_error();
    ASSERT_EQ(gptq_context_set_log(ctx_, &SafetyApi::collect, &log_), GPTQ_OK);
    tmp_ = fs::temp_directory_path() / ("gptq_capi_safety_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(tmp_);
    fs::create_directories(tmp_);
  }
  void TearDown() override {
    gptq_context_destroy(ctx_);
    fs::remove_all(tmp_);
  }
  static void collect(void *user, gptq_log_level, const char *msg) {
    *static_cast<std::string *>(user) += std::string(msg) + "\n";
  }

  gptq_status quantize(const fs::path &model, const fs::path &out, const std::string &json) {
    const char *report = nullptr;
    return gptq_quantize_model(ctx_, model.c_str(), json.c_str(), out.c_str(), nullptr, nullptr, &report);
  }
  static std::string rtn(bool overwrite) {
    return std::string(R"({"method": "rtn", "overwrite": )") + (overwrite ? "true" : "false") + "}";
  }
  fs::path model_copy(const fs::path &where) {
    fs::create_directories(where.parent_path());
    fs::copy(kDemo, where, fs::copy_options::recursive);
    return where;
  }

  gptq_context *ctx_ = nullptr;
  std::string log_;
  fs::path tmp_;
};

#define EXPECT_STATUS(call, status, ...)                                         \
  do {                                                                          \
    EXPECT_EQ((call), (status)) << gptq_last_error();                           \
    const std::string msg_ = gptq_last_error();                                 \
    for (const char *needle : {__VA_ARGS__})                                    \
      EXPECT_NE(msg_.find(needle), std::string::npos) << needle << " in " << msg_; \
  } while (0)

}  // namespace

TEST_F(SafetyApi, OverwriteNeverTakesTheModelOrAStrangersFiles) {
  const fs::path model = model_copy(tmp_ / "parent" / "m");
  std::ofstream(tmp_ / "parent" / "notes.txt") << "mine";
  fs::create_directories(tmp_ / "other");
  std::ofstream(tmp_ / "other" / "cat.jpg") << "precious";
  const auto before = tree(tmp_);
  EXPECT_STATUS(quantize(model, tmp_ / "parent", rtn(true)), GPTQ_ERR_INVALID_ARGUMENT,
                "contains the source model's directory");
  EXPECT_STATUS(quantize(model, model, rtn(true)), GPTQ_ERR_INVALID_ARGUMENT, "is the source model's directory");
  EXPECT_STATUS(quantize(model, model / "q", rtn(false)), GPTQ_ERR_INVALID_ARGUMENT, "lies inside");
  EXPECT_STATUS(quantize(model, tmp_ / "other", rtn(true)), GPTQ_ERR_INVALID_ARGUMENT,
                "cat.jpg, a file libgptq does not write");
  EXPECT_STATUS(quantize(model, "/", rtn(true)), GPTQ_ERR_INVALID_ARGUMENT, "root directory");
  EXPECT_STATUS(quantize(model, "", rtn(true)), GPTQ_ERR_INVALID_ARGUMENT, "empty path");
  EXPECT_EQ(tree(tmp_), before);
  // What it may replace: an empty directory, then its own checkpoint.
  fs::create_directories(tmp_ / "q");
  EXPECT_EQ(quantize(model, tmp_ / "q", rtn(true)), GPTQ_OK) << gptq_last_error();
  EXPECT_EQ(quantize(model, tmp_ / "q", rtn(true)), GPTQ_OK) << gptq_last_error();
  std::ifstream q(tmp_ / "q" / "quantize_config.json");
  const auto meta = nlohmann::json::parse(q)["meta"]["quantizer"][0].get<std::string>();
  EXPECT_EQ(meta, std::string("libgptq:") + gptq_version());
}

TEST_F(SafetyApi, StagingOfADeadRunIsRemovedAndALiveOneKept) {
  const fs::path out = tmp_ / "q";
  for (const char *name : {"q.tmp-Dead01", "q.tmp-Live01"}) {
    fs::create_directories(tmp_ / name);
    std::ofstream(tmp_ / name / ".libgptq-staging.lock") << "pid 4242 on host elsewhere\n";
    std::ofstream(tmp_ / name / ".model.safetensors.tmp.XyZ123") << "half a shard";
  }
  const int live = ::open((tmp_ / "q.tmp-Live01" / ".libgptq-staging.lock").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(live, 0);
  ASSERT_EQ(::flock(live, LOCK_EX | LOCK_NB), 0);  // held, as by a running process
  ASSERT_EQ(quantize(kDemo, out, rtn(false)), GPTQ_OK) << gptq_last_error();
  EXPECT_FALSE(fs::exists(tmp_ / "q.tmp-Dead01"));
  EXPECT_TRUE(fs::exists(tmp_ / "q.tmp-Live01" / ".model.safetensors.tmp.XyZ123"));
  EXPECT_FALSE(fs::exists(out / ".libgptq-staging.lock"));
  EXPECT_NE(log_.find("removed " + (tmp_ / "q.tmp-Dead01").string() +
                      ", left by a process that died before it finished (pid 4242 on host elsewhere)"),
            std::string::npos)
      << log_;
  EXPECT_NE(log_.find("q.tmp-Live01 in place: a live process is writing it"), std::string::npos) << log_;
  ::close(live);
}

TEST_F(SafetyApi, ConfigsOfTheWrongShapeAreStatusesNotAborts) {
  const fs::path out = tmp_ / "q";
  EXPECT_STATUS(quantize(kDemo, out, "[1, 2]"), GPTQ_ERR_INVALID_ARGUMENT, "expected a JSON object");
  EXPECT_STATUS(quantize(kDemo, out, R"({"calibration": 5})"), GPTQ_ERR_INVALID_ARGUMENT, "calibration");
  EXPECT_STATUS(quantize(kDemo, out, "{\"calibration\": {\"files\": [\"\xff.txt\"]}}"), GPTQ_ERR_INVALID_ARGUMENT,
                "UTF-8");
  EXPECT_STATUS(quantize(kDemo, out, R"({"damp_percent": NaN})"), GPTQ_ERR_INVALID_ARGUMENT,
                "damp_percent: NaN is not a JSON number");
  gptq_model *model = nullptr;
  ASSERT_EQ(gptq_model_open(ctx_, kDemo.c_str(), &model), GPTQ_OK) << gptq_last_error();
  gptq_session *session = nullptr;
  EXPECT_STATUS(gptq_session_create(ctx_, model, "{\"stop\": [\"\xff\"]}", &session), GPTQ_ERR_INVALID_ARGUMENT,
                "UTF-8");
  EXPECT_STATUS(gptq_session_create(ctx_, model, R"({"temperature": Infinity})", &session),
                GPTQ_ERR_INVALID_ARGUMENT, "temperature: Infinity");
  EXPECT_EQ(session, nullptr);
  gptq_model_destroy(model);
  EXPECT_TRUE(fs::is_empty(tmp_));
}

TEST_F(SafetyApi, NanInABinaryConfigIsRefusedNamingTheField) {
  // The flatbuffer of {"temperature": 0.5} with its 0.5f patched to NaN: a
  // binary config carries floats JSON cannot.
  const std::string json = R"({"temperature": 0.5})";
  std::vector<unsigned char> bin(4096);
  size_t n = 0;
  ASSERT_EQ(gptq_config_convert(GPTQ_CONFIG_GENERATION, json.data(), json.size(), GPTQ_ENCODING_JSON,
                                GPTQ_ENCODING_BINARY, bin.data(), bin.size(), &n),
            GPTQ_OK)
      << gptq_last_error();
  bin.resize(n);
  const float half = 0.5f, nan = __builtin_nanf("");
  size_t patched = 0;
  for (size_t i = 0; i + 4 <= bin.size(); ++i)
    if (std::memcmp(&bin[i], &half, 4) == 0) {
      std::memcpy(&bin[i], &nan, 4);
      ++patched;
    }
  ASSERT_EQ(patched, 1u);
  char out[4096];
  EXPECT_STATUS(gptq_config_convert(GPTQ_CONFIG_GENERATION, bin.data(), bin.size(), GPTQ_ENCODING_BINARY,
                                    GPTQ_ENCODING_JSON, out, sizeof out, &n),
                GPTQ_ERR_INVALID_ARGUMENT, "temperature", "not a finite number");
}

TEST_F(SafetyApi, NothingRunsPastTheContext) {
  const fs::path file = gptq::testing::source_dir() / "demo" / "text" / "calib.txt";
  const std::string calib = "\"files\": [\"" + file.string() + "\"], \"nsamples\": 2";
  EXPECT_STATUS(quantize(kDemo, tmp_ / "q", "{\"calibration\": {" + calib + ", \"seqlen\": 1024}}"),
                GPTQ_ERR_INVALID_ARGUMENT, "seqlen 1024", "context of 512");
  // seqlen 0 (the default) is the context, and the report says so.
  const char *report = nullptr;
  ASSERT_EQ(gptq_quantize_model(ctx_, kDemo.c_str(), ("{\"calibration\": {" + calib + "}}").c_str(),
                                (tmp_ / "q").c_str(), nullptr, nullptr, &report),
            GPTQ_OK)
      << gptq_last_error();
  EXPECT_EQ(nlohmann::json::parse(report)["config"]["calibration"]["seqlen"], 512);

  gptq_model *model = nullptr;
  ASSERT_EQ(gptq_model_open(ctx_, kDemo.c_str(), &model), GPTQ_OK) << gptq_last_error();
  const std::string text = "The quick brown fox jumps over the lazy dog. ";
  const char *eval_report = nullptr;
  EXPECT_STATUS(gptq_evaluate(ctx_, model, text.data(), text.size(), R"({"seqlen": 513})", nullptr, nullptr,
                              &eval_report),
                GPTQ_ERR_INVALID_ARGUMENT, "seqlen 513", "context of 512");
  gptq_session *session = nullptr;
  ASSERT_EQ(gptq_session_create(ctx_, model, R"({"max_new_tokens": 600, "stop_at_eos": false})", &session),
            GPTQ_OK);
  int tokens = 0;
  auto count = [](void *user, const char *, int32_t) {
    ++*static_cast<int *>(user);
    return 0;
  };
  EXPECT_STATUS(gptq_generate(session, "hi", 2, count, &tokens), GPTQ_ERR_INVALID_ARGUMENT, "max_new_tokens 600",
                "context of 512");
  EXPECT_EQ(tokens, 0);  // refused before the first token, not cut short after the 510th
  gptq_session_destroy(session);
  gptq_model_destroy(model);
}

TEST_F(SafetyApi, PathsSayWhatTheyAre) {
  gptq_model *model = nullptr;
  EXPECT_STATUS(gptq_model_open(ctx_, "", &model), GPTQ_ERR_INVALID_ARGUMENT, "model directory: an empty path");
  std::ofstream(tmp_ / "file") << "x";
  EXPECT_STATUS(gptq_model_open(ctx_, (tmp_ / "file").c_str(), &model), GPTQ_ERR_IO,
                "is a regular file, not a directory");
  EXPECT_STATUS(gptq_model_open(ctx_, (tmp_ / "none").c_str(), &model), GPTQ_ERR_IO, "does not exist");
  EXPECT_EQ(model, nullptr);
  // A directory name that is not UTF-8 opens, and its info is valid JSON.
  const fs::path odd = tmp_ / "model-\xff";
  fs::create_directory_symlink(fs::absolute(kDemo), odd);
  ASSERT_EQ(gptq_model_open(ctx_, odd.c_str(), &model), GPTQ_OK) << gptq_last_error();
  const char *json = nullptr;
  ASSERT_EQ(gptq_model_info_json(model, &json), GPTQ_OK) << gptq_last_error();
  const std::string directory = nlohmann::json::parse(json)["directory"];
  EXPECT_TRUE(directory.ends_with("model-\xEF\xBF\xBD")) << directory;
  gptq_model_destroy(model);
}
