// model.vocab and model.merges are read by their own scanner (model_tables_scan.h), the
// rest of tokenizer.json by the DOM parser: both must accept and refuse what JSON does.
#include "core/tokenizer/model_tables_scan.h"

#include <gtest/gtest.h>

#include "core/base/error.h"
#include "tests/core/tokenizer/test_util.h"

namespace gptq::tokenizer {
namespace {

using V = std::vector<int32_t>;

std::string doc_with(const std::string &vocab, const std::string &merges, const std::string &tail = "") {
  return R"({"version": "1.0", "model": {"type": "BPE", "vocab": )" + vocab + R"(, "merges": )" + merges +
         "}" + tail + "}";
}

std::string error_of(const std::string &json) {
  try {
    Tokenizer::from_json(json, {}, "/m/tokenizer.json");
  } catch (const Error &e) {
    EXPECT_EQ(e.status(), Status::Format) << e.what();
    return e.what();
  }
  return "no error";
}

TEST(ModelTablesScan, ReadsEscapesAndBothMergeForms) {
  // \u0120 is GPT-2's "Ġ"; a surrogate pair is one code point; \" and \\ in keys.
  const std::string json = doc_with(R"({"\u0120": 0, "a": 1, "\u0120a": 2, "\ud83e\udd80": 3, "q\"\\": 4, "x": 5, "q\"\\x": 6})",
                                    R"(["\u0120 a", ["q\"\\", "x"]])");
  ScannedModelTables t;
  const std::string rest = scan_model_tables(json, "t.json", t);
  EXPECT_EQ(rest, doc_with("{}", "[]"));
  ASSERT_EQ(t.vocab.size(), 7u);
  EXPECT_EQ(t.str(t.vocab[0].key), "\xC4\xA0");
  EXPECT_EQ(t.str(t.vocab[3].key), "\xF0\x9F\xA6\x80");
  EXPECT_EQ(t.str(t.vocab[4].key), "q\"\\");
  ASSERT_EQ(t.merges.size(), 2u);
  EXPECT_FALSE(t.merges[0].pair);
  EXPECT_TRUE(t.merges[1].pair);
  const Tokenizer tok = Tokenizer::from_json(json);
  EXPECT_EQ(tok.token_to_id("\xC4\xA0" "a"), 2);
  EXPECT_EQ(tok.token_to_id("\xF0\x9F\xA6\x80"), 3);
}

TEST(ModelTablesScan, LeavesOtherKindsToTheDomReader) {
  const std::string json = R"({"model": {"type": "Unigram", "vocab": [["a", 0.0]]}})";
  ScannedModelTables t;
  EXPECT_EQ(scan_model_tables(json, "t.json", t), json);
  EXPECT_FALSE(t.has_vocab);
}

TEST(ModelTablesScan, RefusesWhatJsonRefuses) {
  EXPECT_NE(error_of(doc_with(R"({"\udc00": 0})", "[]")).find("invalid JSON at byte"), std::string::npos);
  EXPECT_NE(error_of(doc_with(R"({"\ud800x": 0})", "[]")).find("surrogate"), std::string::npos);
  EXPECT_NE(error_of(doc_with(R"({"\x": 0})", "[]")).find("invalid escape"), std::string::npos);
  EXPECT_NE(error_of(doc_with("{\"a\tb\": 0}", "[]")).find("control character"), std::string::npos);
  EXPECT_NE(error_of(doc_with("{\"a\xC3\": 0}", "[]")).find("invalid UTF-8"), std::string::npos);
  EXPECT_NE(error_of(doc_with(R"({"a": 0,})", "[]")).find("invalid JSON at byte"), std::string::npos);
  EXPECT_NE(error_of(doc_with(R"({"a": 01})", "[]")).find("leading zero"), std::string::npos);
  EXPECT_NE(error_of(doc_with(R"({"a": 1.0})", "[]")).find("$.model.vocab[\"a\"]: expected an integer, got number"),
            std::string::npos);
  EXPECT_NE(error_of(doc_with(R"({"a": true})", "[]")).find("expected an integer, got boolean"), std::string::npos);
  EXPECT_NE(error_of(doc_with(R"({"a": 0})", R"([["a"]])")).find("$.model.merges[0]: a merge must be a pair"),
            std::string::npos);
  EXPECT_NE(error_of(doc_with(R"({"a": 0})", R"([["a", 1]])")).find("$.model.merges[0][1]: expected a string"),
            std::string::npos);
  EXPECT_NE(error_of(doc_with(R"({"a": 0})", R"([{}])")).find("expected a string or a pair, got object"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"model": {"vocab": {}, "merges": []}, "model": {}})").find("duplicate field \"model\""),
            std::string::npos);
  EXPECT_NE(error_of(R"({"model": {"vocab": {}, "vocab": {}, "merges": []}})").find("duplicate field \"vocab\""),
            std::string::npos);
}

// A syntax error outside the tables is reported at its byte in the file, not in the
// shortened text the DOM parser reads.
TEST(ModelTablesScan, ErrorsAfterTheTablesKeepTheirFileOffset) {
  const std::string json = doc_with(R"({"a": 0, "b": 1})", "[]", R"(, "x": [1,])");
  const std::size_t bad = json.find(",]") + 1;
  const std::string e = error_of(json);
  EXPECT_NE(e.find("invalid JSON at byte " + std::to_string(bad + 1)), std::string::npos) << e;
}

}  // namespace
}  // namespace gptq::tokenizer
