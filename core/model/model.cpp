#include "core/model/model.h"

#include <set>

#include "core/base/error.h"
#include "core/io/file_kind.h"
#include "core/io/read_file.h"
#include "core/model/expected_tensors.h"
#include "core/model/tokenizer_files.h"
#include "core/text/utf8.h"

namespace gptq::model {
namespace {

constexpr std::uint64_t kMaxQuantizeConfigBytes = 1u << 20;

std::string torch_dtype_name(DType d) {
  switch (d) {
    case DType::F16: return "float16";
    case DType::BF16: return "bfloat16";
    case DType::F32: return "float32";
    case DType::F64: return "float64";
    default: return std::string(dtype_name(d));
  }
}

}  // namespace

Model::Model(std::filesystem::path dir, ModelSpec spec, io::ShardedCheckpoint weights,
             std::unique_ptr<tokenizer::Tokenizer> tokenizer)
    : dir_(std::move(dir)), spec_(std::move(spec)), weights_(std::move(weights)),
      tokenizer_(std::move(tokenizer)) {}

std::unique_ptr<Model> Model::open(const std::filesystem::path &dir) {
  io::require_directory(dir, "model directory");
  std::error_code ec;
  const auto config_path = dir / "config.json";
  ModelSpec spec = load_model_config(config_path);
  // AutoGPTQ up to 0.6 kept the quantization only in quantize_config.json;
  // 0.7, optimum and GPTQModel write both, and the weights file's name and
  // the meta may be in either.
  if (const auto path = dir / "quantize_config.json"; std::filesystem::exists(path, ec))
    spec.quantization = merge_quantization_configs(
        spec.quantization, config_path.string(),
        parse_quantize_config_json(io::read_text_file(path, kMaxQuantizeConfigBytes), path.string()),
        path.string());
  std::unique_ptr<tokenizer::Tokenizer> tok;
  // A checkpoint without tokenizer.json still opens (e.g. weights only); it
  // just cannot tokenize. A tokenizer.json that is there must be valid.
  if (std::filesystem::exists(dir / "tokenizer.json", ec))
    tok = std::make_unique<tokenizer::Tokenizer>(open_tokenizer(dir));
  io::ShardedCheckpoint weights =
      io::ShardedCheckpoint::open(dir, spec.quantization ? spec.quantization->model_file_base_name : "");
  return std::unique_ptr<Model>(new Model(dir, std::move(spec), std::move(weights), std::move(tok)));
}

const schema::ModelInfoT &Model::info() const {
  std::call_once(info_once_, [this] {
    schema::ModelInfoT info;
    info.model_type = spec_.model_type;
    if (!spec_.architectures.empty()) info.architecture = spec_.architectures.front();
    info.hidden_size = static_cast<int32_t>(spec_.hidden_size);
    info.num_layers = static_cast<int32_t>(spec_.num_layers);
    info.num_heads = static_cast<int32_t>(spec_.num_heads);
    info.num_kv_heads = static_cast<int32_t>(spec_.num_kv_heads);
    info.head_dim = static_cast<int32_t>(spec_.head_dim);
    info.intermediate_size = static_cast<int32_t>(spec_.intermediate_size);
    info.vocab_size = static_cast<int32_t>(spec_.vocab_size);
    info.max_position_embeddings = static_cast<int32_t>(spec_.max_position_embeddings);
    uint64_t params = 0;
    for (const auto &t : expected_tensors(spec_)) {
      uint64_t n = 1;
      for (auto d : t.shape) n *= static_cast<uint64_t>(d);
      params += n;
    }
    info.parameters = params;
    std::set<std::string> shards;
    std::set<DType> float_dtypes;
    for (const auto &name : weights_.tensor_names()) {
      auto view = weights_.tensor(name);
      auto t = std::make_unique<schema::TensorInfoT>();
      t->name = name;
      t->dtype = std::string(dtype_name(view.dtype));
      t->shape = view.shape;
      t->shard = weights_.shard_of(name);
      shards.insert(t->shard);
      if (view.dtype == DType::F16 || view.dtype == DType::BF16 || view.dtype == DType::F32)
        float_dtypes.insert(view.dtype);
      info.tensors.push_back(std::move(t));
    }
    info.shards.assign(shards.begin(), shards.end());
    // The config's dtype when it gives one, else what the float tensors are.
    if (spec_.dtype) {
      info.dtype = torch_dtype_name(*spec_.dtype);
    } else if (float_dtypes.size() == 1) {
      info.dtype = torch_dtype_name(*float_dtypes.begin());
    }
    if (spec_.quantization) info.quantization = quant::schema_quantize_config(*spec_.quantization);
    // A label: a directory name that is not UTF-8 (Linux allows any bytes)
    // is shown with U+FFFD for its bad bytes rather than make ModelInfo,
    // whose strings are UTF-8, fail for a model that opened fine.
    utf8::append_repaired(dir_.string(), info.directory);
    if (tokenizer_) {
      info.tokenizer_vocab_size = static_cast<int32_t>(tokenizer_->vocab_size());
      info.bos_token_id = tokenizer_->bos_id().value_or(-1);
      info.eos_token_id = tokenizer_->eos_id().value_or(-1);
      info.has_chat_template = tokenizer_->has_chat_template();
    }
    info_ = std::move(info);
  });
  return info_;
}

}  // namespace gptq::model
