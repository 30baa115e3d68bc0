#include "core/tokenizer/decoder.h"

#include <gtest/gtest.h>

#include "core/tokenizer/json_node.h"

namespace gptq::tokenizer {
namespace {

// Runs the chain over `tokens` all at once and one token at a time, checks that the
// pieces join to the same text, and returns it.
std::string run(const std::string &json, const std::vector<std::string> &tokens) {
  const auto doc = nlohmann::json::parse(json);
  DecoderChain chain{JsonNode(doc, "t.json", "$.decoder")};
  std::string whole;
  auto p = chain.start(whole);
  for (const auto &t : tokens) p->push(t);
  p->finish();
  std::string streamed, out;
  auto q = chain.start(out);
  for (const auto &t : tokens) {
    q->push(t);
    streamed += out;
    out.clear();
  }
  q->finish();
  streamed += out;
  EXPECT_EQ(streamed, whole);
  return whole;
}

const char *kLlama2 = R"({"type":"Sequence","decoders":[
  {"type":"Replace","pattern":{"String":"▁"},"content":" "},{"type":"ByteFallback"},
  {"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]})";

TEST(Decoder, Llama2Chain) {
  EXPECT_EQ(run(kLlama2, {"▁Hello", "▁world"}), "Hello world");
  EXPECT_EQ(run(kLlama2, {"<s>", "▁Hello"}), "<s> Hello");
  EXPECT_EQ(run(kLlama2, {"▁", "<0xC3>", "<0xA9>", "x"}), "\xC3\xA9x");
  // An invalid byte run becomes one U+FFFD per byte token.
  EXPECT_EQ(run(kLlama2, {"a", "<0xC3>", "<0xC3>"}), "a\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(run(kLlama2, {"▁▁", "▁a"}), "  a");
}

TEST(Decoder, ByteLevelLossy) {
  const char *j = R"({"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true})";
  EXPECT_EQ(run(j, {"Hello", "Ġworld"}), "Hello world");
  EXPECT_EQ(run(j, {"Ã", "©"}), "\xC3\xA9");
  EXPECT_EQ(run(j, {"Ã", "x"}), "\xEF\xBF\xBDx");
  EXPECT_EQ(run(j, {"ä", "¸"}), "\xEF\xBF\xBD");  // truncated at the end
  EXPECT_EQ(run(j, {"</s>", "a b"}), "</s>a b");  // ' ' is not in the table: raw bytes
}

TEST(Decoder, MetaspaceAndStrip) {
  const char *m = R"({"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true})";
  EXPECT_EQ(run(m, {"▁Hey", "▁friend"}), "Hey friend");
  const char *s = R"({"type":"Sequence","decoders":[{"type":"Fuse"},{"type":"Strip","content":"x","start":2,"stop":2}]})";
  EXPECT_EQ(run(s, {"x", "xxa", "x", "bx", "x", "x"}), "xaxbx");
}

TEST(Decoder, ReplaceAcrossFusedChunks) {
  const char *j = R"({"type":"Sequence","decoders":[{"type":"Fuse"},{"type":"Replace","pattern":{"String":"ab"},"content":"X"}]})";
  EXPECT_EQ(run(j, {"a", "b", "ca", "a", "b"}), "XcaX");
}

}  // namespace
}  // namespace gptq::tokenizer
