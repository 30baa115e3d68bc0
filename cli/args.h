// A small command-line parser for the gptq tool: options are declared with a
// help line, so --help output and parsing cannot drift apart.
#pragma once

#include <map>
#include <utility>
#include <optional>
#include <string>
#include <vector>

namespace gptq::cli {

// Thrown for a usage error (exit code 2).
struct UsageError {
  std::string message;
};

class Args {
 public:
  Args(std::string command, std::string synopsis, std::string description);

  // A flag without a value, e.g. --json.
  Args &flag(const std::string &name, const std::string &help, const std::string &short_name = "");
  // An option with a value, e.g. --seqlen N.
  Args &option(const std::string &name, const std::string &metavar, const std::string &help,
               const std::string &short_name = "");
  // Named positional arguments, in order; `required` of them must be given.
  Args &positional(const std::string &name, const std::string &help, bool required = true);

  // Parses argv (after the subcommand). Returns false when --help was asked
  // (the help was printed). Throws UsageError.
  bool parse(int argc, char **argv);

  bool has(const std::string &name) const;
  // The last value given for an option.
  std::optional<std::string> get(const std::string &name) const;
  // Every value given for a repeatable option (e.g. --stop A --stop B), in order.
  std::vector<std::string> get_all(const std::string &name) const;
  std::string get_or(const std::string &name, const std::string &fallback) const;
  // The value of an option parsed as an integer / a finite number;
  // UsageError when not one (or out of range, or NaN/Inf).
  std::optional<long long> get_int(const std::string &name) const;
  std::optional<double> get_double(const std::string &name) const;
  // The option's value, or `fallback` when not given; UsageError naming the
  // choices when it is not one of them.
  std::string get_choice(const std::string &name, const std::vector<std::string> &choices,
                         const std::string &fallback) const;
  // UsageError unless every value given for the option (or positional) is
  // valid UTF-8, for values the library takes inside JSON, whose strings are
  // UTF-8; `why` tells the user what to do instead.
  void require_utf8(const std::string &name, const std::string &why) const;

  std::string help() const;

 private:
  struct Spec {
    std::string name, short_name, metavar, help;
    bool takes_value = false;
  };
  struct Positional {
    std::string name, help;
    bool required = true;
  };
  const Spec *find(const std::string &arg) const;
  bool positional_named(const std::string &name) const;

  std::string command_, synopsis_, description_;
  std::vector<Spec> specs_;
  std::vector<Positional> positionals_;
  std::map<std::string, std::string> values_;
  std::map<std::string, std::vector<std::string>> all_values_;
};

}  // namespace gptq::cli
