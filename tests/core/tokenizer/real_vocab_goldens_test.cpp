// Exact agreement with HF tokenizers on the real tokenizer files of ../shared/tokenizers
// (Llama-3, Qwen2.5, Mistral, Phi-3, GPT-2): the hard texts of real_vocab_cases.json with
// the ids, with and without special tokens, and decodes that HF tokenizers 0.23.2 gives
// (tests/reference/make_real_vocab_goldens.py), and the ids that llama.cpp's repository
// recorded from the real HF tokenizers for its test strings.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>

#include "core/model/tokenizer_files.h"
#include "core/tokenizer/tokenizer.h"
#include "tests/core/tokenizer/test_util.h"
#include "tests/support/shared_data.h"

namespace gptq::tokenizer {
namespace {

using V = std::vector<int32_t>;

std::string case_text(const nlohmann::json &c) {
  if (c.contains("text")) return c["text"];
  std::string hex = c["bytes_hex"], out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(char(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;  // raw bytes: encode() repairs them as the golden script's errors="replace"
}

const nlohmann::json &data(const std::string &file) {
  static std::map<std::string, nlohmann::json> cache;
  auto it = cache.find(file);
  if (it == cache.end()) {
    const auto path = testing::source_dir() / "tests/data/tokenizer" / file;
    it = cache.emplace(file, nlohmann::json::parse(test::read_file(path.string()))).first;
  }
  return it->second;
}

// The tokenizer from tokenizer.json alone: HF tokenizers' decode has no
// clean_up_tokenization_spaces (that is transformers', from tokenizer_config.json).
Tokenizer load_family(const std::filesystem::path &dir) {
  return Tokenizer::from_json(test::read_file((dir / "tokenizer.json").string()), {},
                              (dir / "tokenizer.json").string());
}

class RealVocab : public ::testing::TestWithParam<const char *> {};

TEST_P(RealVocab, MatchesHfTokenizers) {
  const std::string family = GetParam();
  GPTQ_REQUIRE_SHARED(dir, "tokenizers/" + family);
  const nlohmann::json golden = data("real_vocab_goldens.json")["families"][family]["cases"];  // a copy: data() returns a temporary
  const nlohmann::json cases = data("real_vocab_cases.json");
  const Tokenizer t = load_family(dir);
  int failures = 0;
  for (const auto &c : cases) {
    const std::string name = c["name"];
    ASSERT_TRUE(golden.contains(name)) << name;
    const auto &g = golden[name];
    const std::string text = case_text(c);
    const V ids = g["ids"].get<V>();
    const V plain = g["ids_no_special"].is_null() ? ids : g["ids_no_special"].get<V>();
    const V got = t.encode(text, true), got_plain = t.encode(text, false);
    EXPECT_EQ(got, ids) << family << " " << name;
    EXPECT_EQ(got_plain, plain) << family << " " << name;
    EXPECT_EQ(t.decode(ids, false), g["decoded"].get<std::string>()) << family << " " << name;
    EXPECT_EQ(t.decode(ids, true), g["decoded_skip"].get<std::string>()) << family << " " << name;
    StreamDecoder d(t);
    std::string s;
    for (int32_t id : ids) s += d.push(id);
    s += d.finish();
    EXPECT_EQ(s, g["decoded"].get<std::string>()) << family << " " << name << " (streamed)";
    failures += got != ids || got_plain != plain;
    if (failures > 10) FAIL() << "too many failures";
  }
}

// Llama-3 (llama-bpe), Qwen2, GPT-2 and Phi-3: the vocabularies of ours that llama.cpp
// recorded (none for Mistral v0.1).
TEST(RealVocabFiles, MatchIdsRecordedByLlamaCpp) {
  const nlohmann::json fams = data("llamacpp_vocab_cases.json")["families"];  // a copy: data() returns a temporary
  ASSERT_EQ(fams.size(), 4u);
  for (const auto &[family, entry] : fams.items()) {
    GPTQ_REQUIRE_SHARED(dir, "tokenizers/" + family);
    const Tokenizer t = load_family(dir);
    const auto &cases = entry["cases"];
    ASSERT_GT(cases.size(), 40u) << family;
    for (const auto &c : cases)
      EXPECT_EQ(t.encode(c["text"].get<std::string>(), false), c["ids"].get<V>()) << family << " " << c["text"];
  }
}

// A file written before "model" had a "type" (openai-community/gpt2's own): HF reads
// it as BPE, and so do we, through the public entry point (file or directory).
TEST(RealVocabFiles, Gpt2WithoutModelTypeOpensAsFileOrDirectory) {
  GPTQ_REQUIRE_SHARED(dir, "tokenizers/gpt2");
  const auto doc = nlohmann::json::parse(test::read_file((dir / "tokenizer.json").string()));
  ASSERT_FALSE(doc["model"].contains("type"));
  const V want = {15496, 11, 995, 0};  // "Hello, world!" (llama.cpp's recorded ids)
  EXPECT_EQ(gptq::model::open_tokenizer(dir).encode("Hello, world!"), want);
  EXPECT_EQ(gptq::model::open_tokenizer(dir / "tokenizer.json").encode("Hello, world!"), want);
}

INSTANTIATE_TEST_SUITE_P(Families, RealVocab,
                         ::testing::Values("llama3", "qwen2.5", "mistral-v0.1", "phi3-mini", "gpt2"),
                         [](const auto &param_info) {
                           std::string n = param_info.param;
                           for (char &ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

}  // namespace
}  // namespace gptq::tokenizer
