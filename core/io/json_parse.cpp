#include "core/io/json_parse.h"

#include <set>
#include <vector>

#include "core/base/error.h"

namespace gptq::io {
namespace {

using json = nlohmann::json;

// The state the parser callback keeps: the keys seen in each open object, and
// the key under which each open container was found (for messages).
struct StrictState {
  struct Container {
    bool is_object;
    std::string name;
    std::set<std::string, std::less<>> keys;
  };
  std::vector<Container> open;
  std::string last_key = "(root)";
};

}  // namespace

json parse_json_strict(std::string_view text, const std::string &source, std::size_t max_depth) {
  StrictState state;
  auto callback = [&](int /*depth*/, json::parse_event_t event, json &parsed) -> bool {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (state.open.size() >= max_depth)
          fail(Status::Format, source + ": JSON nests deeper than " + std::to_string(max_depth) +
                                   " levels (under key '" + state.last_key + "')");
        state.open.push_back({event == json::parse_event_t::object_start, state.last_key, {}});
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!state.open.empty()) state.open.pop_back();
        break;
      case json::parse_event_t::key: {
        const std::string &key = parsed.get_ref<const std::string &>();
        if (!state.open.empty() && state.open.back().is_object) {
          if (!state.open.back().keys.insert(key).second)
            fail(Status::Format, source + ": duplicate key '" + key + "' in object '" +
                                     state.open.back().name + "'");
        }
        state.last_key = key;
        break;
      }
      case json::parse_event_t::value:
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true,
                       /*ignore_comments=*/false);
  } catch (const json::parse_error &e) {
    fail(Status::Format, source + ": invalid JSON at byte " + std::to_string(e.byte) + ": " +
                             e.what());
  } catch (const json::exception &e) {
    fail(Status::Format, source + ": invalid JSON: " + e.what());
  }
}

std::string json_type_description(const json &value) {
  switch (value.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer: return "a negative integer";
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a number with a fraction";
    case json::value_t::binary: return "binary data";
    case json::value_t::discarded: return "nothing";
  }
  return "an unknown JSON type";
}

}  // namespace gptq::io
