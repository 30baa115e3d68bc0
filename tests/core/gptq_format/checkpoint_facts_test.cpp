// The facts of the checkpoint format that several rooms check are one source
// (core/gptq_format/bit_widths.h, checkpoint_format.h, quantization_config.h):
// here each reader of them is held to it, so a width or a format added in
// one place and not in another fails.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/base/error.h"
#include "core/config/typed.h"
#include "core/gptq_format/bit_widths.h"
#include "core/gptq_format/checkpoint_format.h"
#include "core/gptq_format/gptq_config_json.h"
#include "core/gptq_format/gptq_packing.h"
#include "core/gptq_format/quantization_config.h"

namespace gptq::quant {
namespace {

bool throws(const auto &f) {
  try {
    f();
  } catch (const Error &) {
    return true;
  }
  return false;
}

TEST(CheckpointFacts, EveryReaderOfBitsTakesExactlyTheFormatsWidths) {
  for (int bits = 0; bits <= 16; ++bits) {
    const bool valid = is_gptq_bit_width(bits);
    const std::string b = std::to_string(bits);
    // The schema's gptq_allowed on QuantizeConfig.bits (what callers pass).
    EXPECT_EQ(throws([&] { config::parse_quantize_config(R"({"bits": )" + b + "}"); }), !valid) << bits;
    // quantize_config.json / quantization_config of a checkpoint (the model
    // reads config.json's through the same parser).
    EXPECT_EQ(throws([&] { parse_quantize_config_json(R"({"bits": )" + b + "}", "qc.json"); }), !valid)
        << bits;
    // The packer, on a layer every valid width can pack (K = N = 32).
    const std::vector<std::uint8_t> codes(32 * 32, 0);
    const std::vector<float> scales(32, 1.0f);
    const std::vector<std::int32_t> zeros(32, 1), g_idx(32, 0);
    EXPECT_EQ(throws([&] {
                pack_gptq(codes.data(), scales.data(), zeros.data(), g_idx.data(), 32, 32, 1, bits,
                          CheckpointFormat::V2);
              }),
              !valid)
        << bits;
  }
}

TEST(CheckpointFacts, FormatNamesAndTheSchemaEnumRoundTrip) {
  for (const CheckpointFormat f : {CheckpointFormat::V1, CheckpointFormat::V2}) {
    EXPECT_EQ(parse_checkpoint_format(checkpoint_format_name(f)), f);
    EXPECT_EQ(checkpoint_format(schema_checkpoint_format(f)), f);
    // The schema's own name for it is the checkpoint's.
    EXPECT_EQ(std::string(schema::EnumNameCheckpointFormat(schema_checkpoint_format(f))),
              std::string(checkpoint_format_name(f)));
  }
  EXPECT_EQ(parse_checkpoint_format("marlin"), std::nullopt);
  EXPECT_EQ(checkpoint_format(config::parse_quantize_config(R"({"checkpoint_format": "gptq_v2"})")),
            CheckpointFormat::V2);
  EXPECT_EQ(parse_quantize_config_json(R"({"bits": 4, "checkpoint_format": "gptq_v2"})", "qc.json")
                .checkpoint_format,
            CheckpointFormat::V2);
}

// One type read and written: what the checkpoint writer writes for a
// QuantizeConfig reads back, through the reader of checkpoints, as the same
// quantization_config.
TEST(CheckpointFacts, TheQuantizationConfigWrittenReadsBackTheSame) {
  const schema::QuantizeConfigT asked = config::parse_quantize_config(
      R"({"bits": 3, "group_size": 64, "desc_act": true, "sym": false, "damp_percent": 0.05,
          "static_groups": true, "true_sequential": false, "checkpoint_format": "gptq_v2"})");
  const GptqQuantizationConfig c = quantization_config(asked);
  const nlohmann::json written = io::gptq_quantization_config(c, io::BlockLinears{}, {});
  const GptqQuantizationConfig back = parse_quantization_config(io::JsonFields(written, "written"), "written");
  EXPECT_EQ(back.bits, 3);
  EXPECT_EQ(back.group_size, 64);
  EXPECT_TRUE(back.desc_act);
  EXPECT_FALSE(back.sym);
  EXPECT_EQ(static_cast<float>(back.damp_percent), 0.05f);  // written as the float's shortest decimal
  EXPECT_TRUE(back.static_groups);
  EXPECT_FALSE(back.true_sequential);
  EXPECT_EQ(back.checkpoint_format, CheckpointFormat::V2);
  ASSERT_EQ(back.producers.size(), 1u);
  EXPECT_EQ(back.producers[0].tool, "libgptq");
  EXPECT_EQ(schema_quantize_config(back)->checkpoint_format, asked.checkpoint_format);
}

}  // namespace
}  // namespace gptq::quant
