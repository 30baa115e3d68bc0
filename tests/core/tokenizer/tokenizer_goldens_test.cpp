// Exact agreement with transformers on both test models: goldens made by
// tests/reference/make_tokenizer_goldens.py (see there for what each field is).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "core/model/tokenizer_files.h"
#include "core/tokenizer/tokenizer.h"
#include "tests/core/tokenizer/test_util.h"
#include "tests/support/shared_data.h"

namespace gptq::tokenizer {
namespace {

using V = std::vector<int32_t>;

std::string fnv1a64_hex(const V &ids) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (int32_t id : ids) {
    uint32_t u = uint32_t(id);
    for (int k = 0; k < 4; ++k) {
      h ^= (u >> (8 * k)) & 0xFF;
      h *= 0x100000001b3ull;
    }
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string case_text(const nlohmann::json &c) {
  if (c.contains("text")) return c["text"];
  std::string hex = c["bytes_hex"], out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(char(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;  // raw bytes: encode() repairs them as the golden script's errors="replace"
}

class Goldens : public ::testing::TestWithParam<const char *> {};

TEST_P(Goldens, MatchTransformers) {
  const std::string model = GetParam();
  const auto golden_path = testing::source_dir() / ("tests/data/tokenizer/goldens-" + model + ".json");
  if (!std::filesystem::exists(golden_path))
    GTEST_SKIP() << "goldens not generated yet: " << golden_path;
  GPTQ_REQUIRE_SHARED(dir, "models/" + model);
  const auto golden = nlohmann::json::parse(test::read_file(golden_path.string()));
  const auto cases = nlohmann::json::parse(
      test::read_file((testing::source_dir() / "tests/data/tokenizer/hard_cases.json").string()));
  auto t = gptq::model::open_tokenizer(dir);

  for (const auto &c : cases) {
    const std::string name = c["name"];
    ASSERT_TRUE(golden["hard_cases"].contains(name)) << name;
    const auto &g = golden["hard_cases"][name];
    const std::string text = case_text(c);
    const V ids = t.encode(text, true);
    EXPECT_EQ(ids, g["ids"].get<V>()) << name;
    EXPECT_EQ(t.encode(text, false), g["ids_no_special"].get<V>()) << name;
    const V gids = g["ids"].get<V>();
    EXPECT_EQ(t.decode(gids, false), g["decoded"].get<std::string>()) << name;
    EXPECT_EQ(t.decode(gids, true), g["decoded_skip"].get<std::string>()) << name;
    for (bool skip : {false, true}) {
      StreamDecoder d(t, skip);
      std::string s;
      for (int32_t id : gids) s += d.push(id);
      s += d.finish();
      EXPECT_EQ(s, t.decode(gids, skip)) << name << " skip=" << skip;
    }
  }

  for (const char *file : {"wikitext2_test.txt", "docs_heldout.txt", "docs_calib.txt"}) {
    GPTQ_REQUIRE_SHARED(path, std::string("data/") + file);
    const auto &g = golden["files"][file];
    const V ids = t.encode(test::read_file(path.string()), true);
    EXPECT_EQ(ids.size(), g["count"].get<std::size_t>()) << file;
    EXPECT_EQ(fnv1a64_hex(ids), g["fnv1a64"].get<std::string>()) << file;
    const V first = g["first"].get<V>(), last = g["last"].get<V>();
    ASSERT_GE(ids.size(), first.size());
    ASSERT_GE(ids.size(), last.size());
    EXPECT_EQ(V(ids.begin(), ids.begin() + long(first.size())), first) << file;
    EXPECT_EQ(V(ids.end() - long(last.size()), ids.end()), last) << file;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, Goldens, ::testing::Values("docs-llama-16m", "docs-opt-15m"));

}  // namespace
}  // namespace gptq::tokenizer
