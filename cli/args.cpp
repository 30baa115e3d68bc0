#include "cli/args.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include <nlohmann/json.hpp>

namespace gptq::cli {

Args::Args(std::string command, std::string synopsis, std::string description)
    : command_(std::move(command)), synopsis_(std::move(synopsis)),
      description_(std::move(description)) {
  flag("help", "show this help and exit", "h");
}

Args &Args::flag(const std::string &name, const std::string &help, const std::string &short_name) {
  specs_.push_back({name, short_name, "", help, false});
  return *this;
}

Args &Args::option(const std::string &name, const std::string &metavar, const std::string &help,
                   const std::string &short_name) {
  specs_.push_back({name, short_name, metavar, help, true});
  return *this;
}

Args &Args::positional(const std::string &name, const std::string &help, bool required) {
  positionals_.push_back({name, help, required});
  return *this;
}

const Args::Spec *Args::find(const std::string &arg) const {
  for (const auto &s : specs_) {
    if (arg == "--" + s.name) return &s;
    if (!s.short_name.empty() && arg == "-" + s.short_name) return &s;
  }
  return nullptr;
}

bool Args::parse(int argc, char **argv) {
  size_t next_positional = 0;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    std::string inline_value;
    bool has_inline = false;
    if (arg.rfind("--", 0) == 0) {
      if (auto eq = arg.find('='); eq != std::string::npos) {
        inline_value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
        has_inline = true;
      }
    }
    if (arg.size() > 1 && arg[0] == '-' && !(arg.size() > 1 && std::isdigit(static_cast<unsigned char>(arg[1])))) {
      const Spec *s = find(arg);
      if (!s) throw UsageError{"unknown option " + arg + " (see gptq " + command_ + " --help)"};
      if (s->name == "help") {
        std::fputs(help().c_str(), stdout);
        return false;
      }
      if (!s->takes_value) {
        if (has_inline) throw UsageError{"option --" + s->name + " takes no value"};
        values_[s->name] = "1";
        continue;
      }
      if (has_inline) {
        values_[s->name] = inline_value;
      } else {
        if (i + 1 >= argc) throw UsageError{"option " + arg + " needs a value (" + s->metavar + ")"};
        values_[s->name] = argv[++i];
      }
      all_values_[s->name].push_back(values_[s->name]);
      continue;
    }
    if (next_positional >= positionals_.size())
      throw UsageError{"unexpected argument '" + arg + "' (see gptq " + command_ + " --help)"};
    values_[positionals_[next_positional++].name] = arg;
  }
  for (size_t i = next_positional; i < positionals_.size(); ++i) {
    if (positionals_[i].required)
      throw UsageError{"missing " + positionals_[i].name + " (see gptq " + command_ + " --help)"};
  }
  return true;
}

bool Args::has(const std::string &name) const { return values_.count(name) > 0; }

std::optional<std::string> Args::get(const std::string &name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Args::get_all(const std::string &name) const {
  auto it = all_values_.find(name);
  return it == all_values_.end() ? std::vector<std::string>{} : it->second;
}

std::string Args::get_or(const std::string &name, const std::string &fallback) const {
  auto v = get(name);
  return v ? *v : fallback;
}

std::optional<long long> Args::get_int(const std::string &name) const {
  auto v = get(name);
  if (!v) return std::nullopt;
  char *end = nullptr;
  errno = 0;
  long long x = std::strtoll(v->c_str(), &end, 10);
  if (v->empty() || *end != '\0') throw UsageError{"--" + name + " expects an integer, got '" + *v + "'"};
  // strtoll clamps an out-of-range value to LLONG_MIN/MAX: refuse, not substitute.
  if (errno == ERANGE) throw UsageError{"--" + name + " " + *v + " is out of range"};
  return x;
}

std::optional<double> Args::get_double(const std::string &name) const {
  auto v = get(name);
  if (!v) return std::nullopt;
  char *end = nullptr;
  double x = std::strtod(v->c_str(), &end);
  if (v->empty() || *end != '\0') throw UsageError{"--" + name + " expects a number, got '" + *v + "'"};
  // strtod reads "nan" and "inf" (and overflows to inf), which JSON cannot
  // carry: nlohmann writes them as null, which the library takes for "not
  // given", so the default would silently stand in for what was typed.
  if (!std::isfinite(x)) throw UsageError{"--" + name + " expects a finite number, got '" + *v + "'"};
  return x;
}

void Args::require_utf8(const std::string &name, const std::string &why) const {
  std::vector<std::string> values = get_all(name);  // every --stop of several
  if (values.empty())
    if (auto v = get(name)) values.push_back(*v);   // a positional
  for (const std::string &v : values) {
    try {
      (void)nlohmann::json(v).dump();  // the check the JSON sent to the library must pass
    } catch (const nlohmann::json::type_error &) {
      throw UsageError{(positional_named(name) ? name : "--" + name) + " is not valid UTF-8; " + why};
    }
  }
}

bool Args::positional_named(const std::string &name) const {
  for (const auto &p : positionals_)
    if (p.name == name) return true;
  return false;
}

std::string Args::help() const {
  std::ostringstream out;
  out << "usage: gptq " << command_ << " " << synopsis_ << "\n\n" << description_ << "\n";
  if (!positionals_.empty()) {
    out << "\narguments:\n";
    for (const auto &p : positionals_) {
      std::string left = "  " + p.name;
      out << left << std::string(left.size() < 28 ? 28 - left.size() : 1, ' ') << p.help << "\n";
    }
  }
  out << "\noptions:\n";
  for (const auto &s : specs_) {
    std::string left = "  " + (s.short_name.empty() ? "" : "-" + s.short_name + ", ") + "--" + s.name +
                       (s.takes_value ? " " + s.metavar : "");
    out << left << std::string(left.size() < 28 ? 28 - left.size() : 1, ' ') << s.help << "\n";
  }
  return out.str();
}

std::string Args::get_choice(const std::string &name, const std::vector<std::string> &choices,
                             const std::string &fallback) const {
  const std::string value = get_or(name, fallback);
  for (const auto &c : choices)
    if (c == value) return value;
  std::string list;
  for (const auto &c : choices) list += (list.empty() ? "" : ", ") + c;
  throw UsageError{"--" + name + " expects one of " + list + " (got '" + value + "')"};
}

}  // namespace gptq::cli
