#include "core/tokenizer/normalizer.h"

#include "core/tokenizer/json_node.h"
#include "core/tokenizer/unicode_nfc.h"

namespace gptq::tokenizer {

namespace {

class SequenceNormalizer final : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> parts)
      : parts_(std::move(parts)) {}
  void normalize(std::string &text, std::string &scratch) const override {
    for (const auto &p : parts_) p->normalize(text, scratch);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

// HF Prepend: adds the prefix unless the text is empty.
class PrependNormalizer final : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  void normalize(std::string &text, std::string &) const override {
    if (!text.empty()) text.insert(0, prefix_);
  }

 private:
  std::string prefix_;
};

// HF Replace with a literal pattern: every non-overlapping occurrence, left to right.
class ReplaceNormalizer final : public Normalizer {
 public:
  ReplaceNormalizer(std::string pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void normalize(std::string &text, std::string &scratch) const override {
    if (pattern_.empty()) return;
    std::size_t pos = text.find(pattern_);
    if (pos == std::string::npos) return;
    scratch.clear();
    std::size_t from = 0;
    while (pos != std::string::npos) {
      scratch.append(text, from, pos - from);
      scratch.append(content_);
      from = pos + pattern_.size();
      pos = text.find(pattern_, from);
    }
    scratch.append(text, from, std::string::npos);
    text.swap(scratch);
  }

 private:
  std::string pattern_;
  std::string content_;
};

// HF NFC / NFD: Unicode canonical composition / decomposition (unicode_nfc.h).
class UnicodeNormalizer final : public Normalizer {
 public:
  explicit UnicodeNormalizer(NormalForm form) : form_(form) {}
  void normalize(std::string &text, std::string &scratch) const override {
    normalize_in_place(form_, text, scratch);
  }

 private:
  NormalForm form_;
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const JsonNode &node) {
  node.expect_object();
  const std::string type = node.at("type").str();
  if (type == "Sequence") {
    JsonNode list = node.at("normalizers");
    list.expect_array();
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (std::size_t i = 0; i < list.size(); ++i) parts.push_back(make_normalizer(list.index(i)));
    return std::make_unique<SequenceNormalizer>(std::move(parts));
  }
  if (type == "NFC") return std::make_unique<UnicodeNormalizer>(NormalForm::NFC);
  if (type == "NFD") return std::make_unique<UnicodeNormalizer>(NormalForm::NFD);
  if (type == "NFKC" || type == "NFKD") {
    node.at("type").fail(Status::Unsupported,
                         "normalizer type \"" + type +
                             "\" is not supported (compatibility decomposition; only NFC and NFD are)");
  }
  if (type == "Prepend") return std::make_unique<PrependNormalizer>(node.at("prepend").str());
  if (type == "Replace") {
    JsonNode pattern = node.at("pattern");
    pattern.expect_object();
    if (!pattern.has("String")) {
      pattern.fail(Status::Unsupported,
                   "Replace normalizer with a non-string pattern (e.g. Regex) is not supported");
    }
    return std::make_unique<ReplaceNormalizer>(pattern.at("String").str(), node.at("content").str());
  }
  node.at("type").fail(Status::Unsupported, "normalizer type \"" + type + "\" is not supported");
}

}  // namespace gptq::tokenizer
