// context_length: the one bound on positions for every architecture.
#include "core/model/context_length.h"

#include <gtest/gtest.h>

namespace gptq::model {
namespace {

ModelSpec llama(const std::string &rope_scaling = "") {
  return parse_model_config(
      R"({"model_type":"llama","hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,)"
      R"("intermediate_size":128,"vocab_size":100,"max_position_embeddings":4096)" +
          (rope_scaling.empty() ? "" : ",\"rope_scaling\":" + rope_scaling) + "}",
      "cfg.json");
}

TEST(ContextLength, IsMaxPositionEmbeddingsUnlessLinearOrDynamicScalingStretchIt) {
  EXPECT_EQ(context_length(llama()), 4096);
  EXPECT_EQ(context_text(llama()), "4096 positions (max_position_embeddings)");
  // vicuna-7b-v1.5-16k's config: max_position_embeddings 4096, linear factor 4.
  EXPECT_EQ(context_length(llama(R"({"type":"linear","factor":4.0})")), 16384);
  EXPECT_EQ(context_text(llama(R"({"type":"linear","factor":4.0})")),
            "16384 positions (max_position_embeddings 4096 x rope_scaling factor 4)");
  EXPECT_EQ(context_length(llama(R"({"type":"dynamic","factor":2.5})")), 10240);
  // Llama 3.1 gives the extended length in max_position_embeddings already.
  EXPECT_EQ(context_length(llama(R"({"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,)"
                                 R"("high_freq_factor":4.0,"original_max_position_embeddings":512})")),
            4096);
}

TEST(ContextLength, LearnedPositionsAreTheTableSize) {
  const ModelSpec opt = parse_model_config(
      R"({"model_type":"opt","hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,)"
      R"("ffn_dim":128,"vocab_size":100,"max_position_embeddings":2048,"word_embed_proj_dim":64})",
      "cfg.json");
  EXPECT_EQ(context_length(opt), 2048);
}

}  // namespace
}  // namespace gptq::model
