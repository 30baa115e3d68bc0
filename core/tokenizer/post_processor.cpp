#include "core/tokenizer/post_processor.h"

#include <map>
#include <string>

#include "core/tokenizer/json_node.h"

namespace gptq::tokenizer {

namespace {

class TemplateProcessor final : public PostProcessor {
 public:
  // Each item is either a list of special-token ids or the sequence (empty optional).
  explicit TemplateProcessor(std::vector<std::vector<int32_t>> items, std::vector<bool> is_seq)
      : items_(std::move(items)), is_seq_(std::move(is_seq)) {}
  void add_special_tokens(std::vector<int32_t> &ids) const override {
    std::vector<int32_t> out;
    out.reserve(ids.size() + 8);
    for (std::size_t i = 0; i < items_.size(); ++i) {
      if (is_seq_[i]) {
        out.insert(out.end(), ids.begin(), ids.end());
      } else {
        out.insert(out.end(), items_[i].begin(), items_[i].end());
      }
    }
    ids.swap(out);
  }

 private:
  std::vector<std::vector<int32_t>> items_;
  std::vector<bool> is_seq_;
};

class WrapProcessor final : public PostProcessor {
 public:
  WrapProcessor(int32_t cls, int32_t sep) : cls_(cls), sep_(sep) {}
  void add_special_tokens(std::vector<int32_t> &ids) const override {
    ids.insert(ids.begin(), cls_);
    ids.push_back(sep_);
  }

 private:
  int32_t cls_, sep_;
};

class NoOpProcessor final : public PostProcessor {
 public:
  void add_special_tokens(std::vector<int32_t> &) const override {}
};

class SequenceProcessor final : public PostProcessor {
 public:
  explicit SequenceProcessor(std::vector<std::unique_ptr<PostProcessor>> parts) : parts_(std::move(parts)) {}
  void add_special_tokens(std::vector<int32_t> &ids) const override {
    for (const auto &p : parts_) p->add_special_tokens(ids);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> parts_;
};

int32_t token_pair_id(const JsonNode &pair) {
  pair.expect_array();
  if (pair.size() != 2) pair.fail(Status::Format, "expected [token, id]");
  pair.index(0).str_view();
  int64_t id = pair.index(1).integer();
  if (id < 0 || id > INT32_MAX) pair.index(1).fail(Status::Format, "id out of range");
  return int32_t(id);
}

std::unique_ptr<PostProcessor> make_template(const JsonNode &node) {
  std::map<std::string, std::vector<int32_t>> specials;
  if (auto st = node.get("special_tokens")) {
    st->expect_object();
    for (auto it = st->raw().begin(); it != st->raw().end(); ++it) {
      JsonNode entry(it.value(), st->file(), st->path() + "[\"" + it.key() + "\"]");
      JsonNode ids = entry.at("ids");
      ids.expect_array();
      std::vector<int32_t> v;
      for (std::size_t i = 0; i < ids.size(); ++i) {
        int64_t id = ids.index(i).integer();
        if (id < 0 || id > INT32_MAX) ids.index(i).fail(Status::Format, "id out of range");
        v.push_back(int32_t(id));
      }
      specials[it.key()] = std::move(v);
    }
  }
  JsonNode single = node.at("single");
  single.expect_array();
  std::vector<std::vector<int32_t>> items;
  std::vector<bool> is_seq;
  for (std::size_t i = 0; i < single.size(); ++i) {
    JsonNode piece = single.index(i);
    piece.expect_object();
    if (auto seq = piece.get("Sequence")) {
      items.emplace_back();
      is_seq.push_back(true);
    } else if (auto sp = piece.get("SpecialToken")) {
      JsonNode id = sp->at("id");
      auto it = specials.find(id.str());
      if (it == specials.end())
        id.fail(Status::Format, "special token \"" + id.str() + "\" is not in special_tokens");
      items.push_back(it->second);
      is_seq.push_back(false);
    } else {
      piece.fail(Status::Format, "expected a Sequence or SpecialToken piece");
    }
  }
  return std::make_unique<TemplateProcessor>(std::move(items), std::move(is_seq));
}

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const JsonNode &node) {
  node.expect_object();
  const JsonNode type_node = node.at("type");
  const std::string type = type_node.str();
  if (type == "TemplateProcessing") return make_template(node);
  if (type == "RobertaProcessing" || type == "BertProcessing")
    return std::make_unique<WrapProcessor>(token_pair_id(node.at("cls")), token_pair_id(node.at("sep")));
  if (type == "ByteLevel") return std::make_unique<NoOpProcessor>();
  if (type == "Sequence") {
    JsonNode list = node.at("processors");
    list.expect_array();
    std::vector<std::unique_ptr<PostProcessor>> parts;
    for (std::size_t i = 0; i < list.size(); ++i) parts.push_back(make_post_processor(list.index(i)));
    return std::make_unique<SequenceProcessor>(std::move(parts));
  }
  type_node.fail(Status::Unsupported, "post_processor type \"" + type + "\" is not supported");
}

}  // namespace gptq::tokenizer
