// Calibration windows: the PRNG against SplitMix64's published vector, the
// offsets against tests/reference/calibration_ref.py (an independent
// implementation; values below printed by it), the seqlen rules, JSONL and
// plain files, token ids, and errors that name the file and the sizes.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/base/error.h"
#include "core/model/model.h"
#include "core/pipeline/calibration.h"
#include "core/pipeline/seeded_random.h"
#include "core/tokenizer/tokenizer.h"
#include "tests/support/shared_data.h"

namespace gptq::quant {
namespace {

std::filesystem::path temp_file(const std::string &name, const std::string &content) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("gptq_calibration_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

template <class F>
std::string error_of(F &&f, Status want) {
  try {
    f();
  } catch (const Error &e) {
    EXPECT_EQ(e.status(), want) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error thrown";
  return {};
}

TEST(SplitMix64, MatchesThePublishedSequence) {
  SplitMix64 r(0);
  EXPECT_EQ(r.next(), 0xE220A8397B1DCDAFull);
  EXPECT_EQ(r.next(), 0x6E789E6AA1B965F4ull);
  EXPECT_EQ(r.next(), 0x06C45D188009454Full);
}

TEST(SplitMix64, BelowMatchesThePythonReference) {
  SplitMix64 r(42);
  std::vector<std::uint64_t> got;
  for (int i = 0; i < 10; ++i) got.push_back(r.below(3));
  EXPECT_EQ(got, (std::vector<std::uint64_t>{1, 1, 0, 0, 1, 0, 1, 2, 1, 2}));
}

TEST(WindowOffsets, MatchThePythonReference) {
  EXPECT_EQ(random_window_offsets(100000, 2048, 8, 0),
            (std::vector<std::int64_t>{9571, 8985, 74260, 59701, 39313, 51009, 57533, 71381}));
  EXPECT_EQ(random_window_offsets(1000, 512, 5, 12345678901234567890ull),
            (std::vector<std::int64_t>{468, 192, 271, 297, 234}));
  EXPECT_EQ(random_window_offsets(10, 10, 3, 7), (std::vector<std::int64_t>{0, 0, 0}));
}

TEST(WindowOffsets, StayInRangeAndDependOnTheSeed) {
  const auto a = random_window_offsets(5000, 100, 200, 1);
  for (auto o : a) {
    EXPECT_GE(o, 0);
    EXPECT_LE(o, 4900);
  }
  EXPECT_NE(a, random_window_offsets(5000, 100, 200, 2));
  EXPECT_EQ(a, random_window_offsets(5000, 100, 200, 1));
  const std::string msg = error_of([] { random_window_offsets(99, 100, 1, 0); }, Status::InvalidArgument);
  EXPECT_NE(msg.find("99 tokens"), std::string::npos) << msg;
}

TEST(EffectiveSeqlen, ZeroIsTheContextCappedAt2048) {
  EXPECT_EQ(effective_seqlen(0, 4096), 2048);
  EXPECT_EQ(effective_seqlen(0, 512), 512);
  EXPECT_EQ(effective_seqlen(0, 0), 2048);
  EXPECT_EQ(effective_seqlen(512, 512), 512);
  EXPECT_EQ(effective_seqlen(300, 2048), 300);
  EXPECT_EQ(effective_seqlen(4096, 0), 4096);   // unknown context: as asked
}

TEST(EffectiveSeqlen, LongerThanTheContextIsRefusedNamingBoth) {
  // Never shortened behind the caller's back (the report would say 1024).
  const std::string msg = error_of([] { effective_seqlen(1024, 512); }, Status::InvalidArgument);
  EXPECT_NE(msg.find("seqlen 1024"), std::string::npos) << msg;
  EXPECT_NE(msg.find("context of 512"), std::string::npos) << msg;
}

TEST(CalibrationDocuments, PlainFileIsOneDocument) {
  const auto p = temp_file("plain.txt", "line one\n\nline two\n");
  EXPECT_EQ(read_calibration_documents(p), (std::vector<std::string>{"line one\n\nline two\n"}));
}

TEST(CalibrationDocuments, JsonlTakesTheTextOfEachLine) {
  const auto p = temp_file("docs.jsonl",
                           "{\"text\": \"first\", \"id\": 1}\n\n  \r\n{\"text\": \"sec\\nond\"}\n");
  EXPECT_EQ(read_calibration_documents(p), (std::vector<std::string>{"first", "sec\nond"}));
}

TEST(CalibrationDocuments, BadJsonlLinesNameFileAndLine) {
  const auto p = temp_file("bad.jsonl", "{\"text\": \"ok\"}\n{\"txt\": \"no\"}\n");
  std::string msg = error_of([&] { read_calibration_documents(p); }, Status::Format);
  EXPECT_NE(msg.find("bad.jsonl line 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("\"text\""), std::string::npos) << msg;
  const auto q = temp_file("bad2.jsonl", "[1, 2]\n");
  msg = error_of([&] { read_calibration_documents(q); }, Status::Format);
  EXPECT_NE(msg.find("line 1"), std::string::npos) << msg;
  const auto r = temp_file("bad3.jsonl", "{\"text\": \n");
  msg = error_of([&] { read_calibration_documents(r); }, Status::Format);
  EXPECT_NE(msg.find("bad3.jsonl line 1"), std::string::npos) << msg;
  msg = error_of([] { read_calibration_documents("/nonexistent/calib.txt"); }, Status::Io);
  EXPECT_NE(msg.find("/nonexistent/calib.txt"), std::string::npos) << msg;
}

TEST(Calibration, TokenIdsAreCutIntoConsecutiveWindows) {
  schema::CalibrationConfigT c;
  for (int i = 0; i < 25; ++i) c.token_ids.push_back(i);
  c.seqlen = 10;
  c.nsamples = 5;
  const CalibrationData d = make_calibration(c, nullptr, 2048, 100);
  EXPECT_EQ(d.seqlen, 10);
  ASSERT_EQ(d.size(), 2u);  // only two whole windows fit
  EXPECT_EQ(d.offsets, (std::vector<std::int64_t>{0, 10}));
  EXPECT_EQ(d.window(1)[0], 10);
  EXPECT_EQ(d.window(1).size(), 10u);
  c.nsamples = 1;
  EXPECT_EQ(make_calibration(c, nullptr, 2048, 100).size(), 1u);
}

TEST(Calibration, BadRequestsSayWhat) {
  schema::CalibrationConfigT c;
  c.seqlen = 10;
  std::string msg = error_of([&] { make_calibration(c, nullptr, 0, 0); }, Status::InvalidArgument);
  EXPECT_NE(msg.find("token_ids"), std::string::npos) << msg;
  c.token_ids = {1, 2, 3};
  msg = error_of([&] { make_calibration(c, nullptr, 0, 0); }, Status::InvalidArgument);
  EXPECT_NE(msg.find("3 ids"), std::string::npos) << msg;
  EXPECT_NE(msg.find("seqlen 10"), std::string::npos) << msg;
  c.token_ids = std::vector<std::int32_t>(20, 7);
  c.token_ids[13] = 100;
  msg = error_of([&] { make_calibration(c, nullptr, 0, 100); }, Status::InvalidArgument);
  EXPECT_NE(msg.find("token_ids[13] = 100"), std::string::npos) << msg;
  c.files = {"x.txt"};
  msg = error_of([&] { make_calibration(c, nullptr, 0, 100); }, Status::InvalidArgument);
  EXPECT_NE(msg.find("not both"), std::string::npos) << msg;
  c.token_ids.clear();
  error_of([&] { make_calibration(c, nullptr, 0, 100); }, Status::Unsupported);
}

TEST(Calibration, TextFilesOnTheLlamaTokenizer) {
  GPTQ_REQUIRE_SHARED(dir, "models/docs-llama-16m");
  const auto model = model::Model::open(dir);
  const auto a = temp_file("a.txt", "The SELECT statement retrieves rows from a table.");
  const auto b = temp_file("b.jsonl", "{\"text\": \"git commit records changes\"}\n"
                                      "{\"text\": \"Perl is a language.\"}\n");
  schema::CalibrationConfigT c;
  c.files = {a.string(), b.string()};
  c.seqlen = 8;
  c.nsamples = 6;
  c.seed = 3;
  const CalibrationData d = make_calibration(c, *model);
  const std::string joined = "The SELECT statement retrieves rows from a table.\n\n"
                             "git commit records changes\n\nPerl is a language.";
  EXPECT_EQ(d.tokens, model->tokenizer()->encode(joined, true));
  EXPECT_EQ(d.tokens.front(), *model->tokenizer()->bos_id());  // BOS once, at the start
  EXPECT_EQ(d.offsets, random_window_offsets(static_cast<std::int64_t>(d.tokens.size()), 8, 6, 3));
  ASSERT_EQ(d.size(), 6u);
  for (std::size_t i = 0; i < d.size(); ++i) {
    const auto w = d.window(i);
    EXPECT_EQ(w.size(), 8u);
    EXPECT_TRUE(std::equal(w.begin(), w.end(), d.tokens.begin() + d.offsets[i]));
  }
}

TEST(Calibration, ShortTextNamesTheFilesAndSizes) {
  GPTQ_REQUIRE_SHARED(dir, "models/docs-opt-15m");
  const auto model = model::Model::open(dir);
  const auto a = temp_file("short.txt", "too short");
  schema::CalibrationConfigT c;
  c.files = {a.string()};
  c.seqlen = 0;  // the model's context: 2048
  const std::string msg = error_of([&] { make_calibration(c, *model); }, Status::InvalidArgument);
  EXPECT_NE(msg.find("short.txt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("seqlen 2048"), std::string::npos) << msg;
  EXPECT_NE(msg.find(" tokens"), std::string::npos) << msg;
}

TEST(Calibration, SharedCalibrationTextGivesFullWindows) {
  GPTQ_REQUIRE_SHARED(dir, "models/docs-opt-15m");
  GPTQ_REQUIRE_SHARED(text, "data/docs_calib.txt");
  const auto model = model::Model::open(dir);
  schema::CalibrationConfigT c;
  c.files = {text.string()};
  c.seqlen = 512;
  c.nsamples = 16;
  const CalibrationData d = make_calibration(c, *model);
  EXPECT_EQ(d.size(), 16u);
  EXPECT_GT(d.tokens.size(), 100000u);
  EXPECT_EQ(d.tokens.front(), 2);  // OPT's </s> at the start
  for (auto o : d.offsets) EXPECT_LE(o + 512, static_cast<std::int64_t>(d.tokens.size()));
}

}  // namespace
}  // namespace gptq::quant
