#include "core/tokenizer/model_tables_scan.h"

#include <cstring>

#include "core/base/error.h"
#include "core/text/utf8.h"

namespace gptq::tokenizer {

namespace {

// A syntax error at a byte; inside the tables it becomes Error(Format), while finding
// them it only means "leave the file to the DOM parser", which reports it its way.
struct SyntaxError {
  std::size_t pos;
  std::string what;
};

// Deeper nesting than this in a skipped value is left to the DOM parser.
constexpr int kMaxDepth = 256;

class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}

  std::size_t pos() const { return i_; }
  bool at_end() const { return i_ >= s_.size(); }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  [[noreturn]] void error(const std::string &what) const { throw SyntaxError{i_, what}; }

  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
  }
  void expect(char c) {
    ws();
    if (peek() != c) error(std::string("expected '") + c + "'");
    ++i_;
  }
  // After a member or element: true for ',', false for `close`.
  bool next_or_close(char close) {
    ws();
    if (peek() == ',') {
      ++i_;
      return true;
    }
    if (peek() == close) {
      ++i_;
      return false;
    }
    error(std::string("expected ',' or '") + close + "'");
  }

  // A JSON string, appended to `arena` (decoded); returns where it is there.
  ScannedModelTables::Str string(std::string &arena) {
    ws();
    if (peek() != '"') error("expected a string");
    ++i_;
    const std::size_t start = arena.size();
    std::size_t run = i_;
    for (;;) {
      // Plain bytes up to the next quote, backslash or control character.
      while (i_ < s_.size()) {
        const unsigned char c = static_cast<unsigned char>(s_[i_]);
        if (c == '"' || c == '\\' || c < 0x20) break;
        ++i_;
      }
      if (at_end()) error("unterminated string");
      arena.append(s_.data() + run, i_ - run);
      const char c = s_[i_];
      if (c == '"') {
        ++i_;
        break;
      }
      if (c != '\\') error("control character in a string");
      escape(arena);
      run = i_;
    }
    const std::size_t len = arena.size() - start;
    if (!utf8::is_valid(std::string_view(arena).substr(start, len))) error("invalid UTF-8 in a string");
    return {uint32_t(start), uint32_t(len)};
  }

  int64_t integer() {
    ws();
    const std::size_t start = i_;
    bool neg = false;
    if (peek() == '-') {
      neg = true;
      ++i_;
    }
    if (!(peek() >= '0' && peek() <= '9')) error("expected a number");
    if (peek() == '0' && i_ + 1 < s_.size() && s_[i_ + 1] >= '0' && s_[i_ + 1] <= '9') error("leading zero");
    uint64_t v = 0;
    bool overflow = false;
    while (peek() >= '0' && peek() <= '9') {
      const uint64_t d = uint64_t(s_[i_] - '0');
      overflow = overflow || v > (uint64_t(INT64_MAX) - d) / 10;
      v = v * 10 + d;
      ++i_;
    }
    if (peek() == '.' || peek() == 'e' || peek() == 'E') {
      i_ = start;
      throw NotInteger{"number"};
    }
    if (overflow) throw NotInteger{"integer out of range"};
    return neg ? -int64_t(v) : int64_t(v);
  }

  // The JSON type of the value that starts here (for "expected ..., got X").
  const char *type_here() {
    ws();
    switch (peek()) {
      case '"': return "string";
      case '{': return "object";
      case '[': return "array";
      case 't':
      case 'f': return "boolean";
      case 'n': return "null";
      default: return "number";
    }
  }

  void skip_value(int depth = 0) {
    if (depth > kMaxDepth) error("nesting too deep");
    ws();
    const char c = peek();
    if (c == '"') {
      scratch_.clear();
      string(scratch_);
    } else if (c == '{') {
      ++i_;
      ws();
      if (peek() == '}') {
        ++i_;
        return;
      }
      do {
        scratch_.clear();
        string(scratch_);
        expect(':');
        skip_value(depth + 1);
      } while (next_or_close('}'));
    } else if (c == '[') {
      ++i_;
      ws();
      if (peek() == ']') {
        ++i_;
        return;
      }
      do skip_value(depth + 1);
      while (next_or_close(']'));
    } else if (c == 't' || c == 'f' || c == 'n') {
      const char *word = c == 't' ? "true" : c == 'f' ? "false" : "null";
      const std::size_t n = std::strlen(word);
      if (s_.substr(i_, n) != word) error("invalid literal");
      i_ += n;
    } else {
      number();
    }
  }

  struct NotInteger {
    const char *what;  // "number" (has a fraction or exponent) or "integer out of range"
  };

 private:
  void number() {
    if (peek() == '-') ++i_;
    if (!(peek() >= '0' && peek() <= '9')) error("expected a value");
    if (peek() == '0') {
      ++i_;
    } else {
      while (peek() >= '0' && peek() <= '9') ++i_;
    }
    if (peek() == '.') {
      ++i_;
      if (!(peek() >= '0' && peek() <= '9')) error("expected a digit");
      while (peek() >= '0' && peek() <= '9') ++i_;
    }
    if (peek() == 'e' || peek() == 'E') {
      ++i_;
      if (peek() == '+' || peek() == '-') ++i_;
      if (!(peek() >= '0' && peek() <= '9')) error("expected a digit");
      while (peek() >= '0' && peek() <= '9') ++i_;
    }
  }

  uint32_t hex4() {
    if (i_ + 4 > s_.size()) error("truncated \\u escape");
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = s_[i_++];
      v <<= 4;
      if (h >= '0' && h <= '9') v |= uint32_t(h - '0');
      else if (h >= 'a' && h <= 'f') v |= uint32_t(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') v |= uint32_t(h - 'A' + 10);
      else error("invalid \\u escape");
    }
    return v;
  }

  void escape(std::string &out) {
    ++i_;  // the backslash
    if (at_end()) error("unterminated string");
    const char e = s_[i_++];
    switch (e) {
      case '"': out.push_back('"'); return;
      case '\\': out.push_back('\\'); return;
      case '/': out.push_back('/'); return;
      case 'b': out.push_back('\b'); return;
      case 'f': out.push_back('\f'); return;
      case 'n': out.push_back('\n'); return;
      case 'r': out.push_back('\r'); return;
      case 't': out.push_back('\t'); return;
      case 'u': {
        uint32_t cp = hex4();
        if (cp >= 0xDC00 && cp <= 0xDFFF) error("lone low surrogate in a \\u escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (s_.substr(i_, 2) != "\\u") error("high surrogate without its low surrogate");
          i_ += 2;
          const uint32_t lo = hex4();
          if (lo < 0xDC00 || lo > 0xDFFF) error("high surrogate without its low surrogate");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        utf8::append_code_point(cp, out);
        return;
      }
      default: error("invalid escape");
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
  std::string scratch_;
};

std::string json_key_path(std::string_view key) {
  std::string p = "[\"";
  p.append(key);
  p += "\"]";
  return p;
}

[[noreturn]] void fail_at(const std::string &file, const std::string &path, const std::string &what) {
  throw Error(Status::Format, file + ": " + path + ": " + what);
}

void read_vocab(Cursor &c, const std::string &file, ScannedModelTables &out) {
  c.expect('{');
  c.ws();
  if (c.peek() == '}') {
    c.expect('}');
    return;
  }
  do {
    const auto key = c.string(out.arena);
    c.expect(':');
    const std::string_view k = out.str(key);
    if (c.type_here() != std::string_view("number"))
      fail_at(file, "$.model.vocab" + json_key_path(k), std::string("expected an integer, got ") + c.type_here());
    try {
      out.vocab.push_back({key, c.integer()});
    } catch (const Cursor::NotInteger &n) {
      fail_at(file, "$.model.vocab" + json_key_path(k),
              n.what == std::string_view("number") ? "expected an integer, got number" : n.what);
    }
  } while (c.next_or_close('}'));
}

void read_merges(Cursor &c, const std::string &file, ScannedModelTables &out) {
  c.expect('[');
  c.ws();
  if (c.peek() == ']') {
    c.expect(']');
    return;
  }
  do {
    const std::string path = "$.model.merges[" + std::to_string(out.merges.size()) + "]";
    const char *type = c.type_here();
    if (type == std::string_view("string")) {
      out.merges.push_back({c.string(out.arena), {0, 0}, false});
    } else if (type == std::string_view("array")) {
      c.expect('[');
      ScannedModelTables::Str parts[2] = {};
      std::size_t n = 0;
      c.ws();
      if (c.peek() != ']') {
        do {
          const char *t = c.type_here();
          if (t != std::string_view("string"))
            fail_at(file, path + "[" + std::to_string(n) + "]", std::string("expected a string, got ") + t);
          const auto s = c.string(out.arena);
          if (n < 2) parts[n] = s;
          ++n;
        } while (c.next_or_close(']'));
      } else {
        c.expect(']');
      }
      if (n != 2) fail_at(file, path, "a merge must be a pair [left, right]");
      out.merges.push_back({parts[0], parts[1], true});
    } else {
      fail_at(file, path, std::string("expected a string or a pair, got ") + type);
    }
  } while (c.next_or_close(']'));
}

struct Span {
  std::size_t begin = 0, end = 0;
  const char *empty = nullptr;  // what replaces it: "{}" or "[]"
};

}  // namespace

std::string scan_model_tables(std::string_view text, const std::string &file, ScannedModelTables &out) {
  out = ScannedModelTables{};
  Span spans[2];
  int nspans = 0;
  Cursor c(text);
  // Reads one of the two tables where the cursor is; its syntax errors are the file's.
  auto table = [&](auto &&read, const char *empty) {
    Span s;
    c.ws();
    s.begin = c.pos();
    try {
      read(c, file, out);
    } catch (const SyntaxError &e) {
      throw Error(Status::Format, file + ": invalid JSON at byte " + std::to_string(e.pos) + ": " + e.what);
    }
    s.end = c.pos();
    s.empty = empty;
    spans[nspans++] = s;
  };
  try {
    std::string key;
    c.expect('{');
    c.ws();
    bool seen_model = false;
    if (c.peek() != '}') {
      do {
        key.clear();
        const auto k = c.string(key);
        c.expect(':');
        if (std::string_view(key).substr(k.off, k.len) != "model") {
          c.skip_value();
          continue;
        }
        if (seen_model) throw Error(Status::Format, file + ": $: duplicate field \"model\"");
        seen_model = true;
        c.ws();
        if (c.peek() != '{') {
          c.skip_value();
          continue;
        }
        c.expect('{');
        c.ws();
        if (c.peek() == '}') {
          c.expect('}');
          continue;
        }
        bool seen_vocab = false, seen_merges = false;
        do {
          key.clear();
          const auto mk = c.string(key);
          c.expect(':');
          const std::string_view name = std::string_view(key).substr(mk.off, mk.len);
          c.ws();
          if (name == "vocab" || name == "merges") {
            bool &seen = name == "vocab" ? seen_vocab : seen_merges;
            if (seen) throw Error(Status::Format, file + ": $.model: duplicate field \"" + std::string(name) + "\"");
            seen = true;
          }
          if (name == "vocab" && c.peek() == '{') {
            table(read_vocab, "{}");
            out.has_vocab = true;
          } else if (name == "merges" && c.peek() == '[') {
            table(read_merges, "[]");
            out.has_merges = true;
          } else {
            c.skip_value();
          }
        } while (c.next_or_close('}'));
      } while (c.next_or_close('}'));
    }
  } catch (const SyntaxError &) {
    // Malformed outside the tables: leave the whole file to the DOM parser's report.
    out = ScannedModelTables{};
    return std::string(text);
  }
  std::string rest;
  rest.reserve(text.size() - (nspans ? spans[0].end - spans[0].begin : 0) -
               (nspans > 1 ? spans[1].end - spans[1].begin : 0) + 4);
  std::size_t from = 0;
  for (int k = 0; k < nspans; ++k) {
    rest.append(text.substr(from, spans[k].begin - from));
    rest.append(spans[k].empty);
    from = spans[k].end;
  }
  rest.append(text.substr(from));
  return rest;
}

}  // namespace gptq::tokenizer
