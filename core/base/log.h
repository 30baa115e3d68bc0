// Logger: the context's log sink. Lines at or above the configured severity go
// to the caller's callback, or to stderr until one is set. Lines written before
// a callback is set (while the context is created, e.g. why a backend was
// chosen) are kept and replayed to the first callback, so an embedding
// application can see them without setting a callback before creation.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace gptq {

// Values match gptq_log_level and the schema's LogLevel.
enum class LogLevel : int { Error = 1, Warn = 2, Info = 3, Debug = 4 };

const char *log_level_name(LogLevel level);

class Logger {
 public:
  using Sink = std::function<void(LogLevel, const std::string &)>;

  explicit Logger(LogLevel max_level = LogLevel::Warn) : max_level_(max_level) {}

  // True when a line of this level would be delivered.
  bool enabled(LogLevel level) const { return level <= max_level_; }
  LogLevel max_level() const { return max_level_; }

  // Sets the sink (null: stderr). The first non-null sink receives the kept
  // lines first. A sink must not throw; if it does, the exception is dropped.
  void set_sink(Sink sink);

  void log(LogLevel level, const std::string &message);
  void error(const std::string &m) { log(LogLevel::Error, m); }
  void warn(const std::string &m) { log(LogLevel::Warn, m); }
  void info(const std::string &m) { log(LogLevel::Info, m); }
  void debug(const std::string &m) { log(LogLevel::Debug, m); }

 private:
  void deliver(LogLevel level, const std::string &message);

  static constexpr size_t kMaxKept = 256;
  LogLevel max_level_;
  std::mutex mutex_;
  Sink sink_;
  bool sink_seen_ = false;
  std::vector<std::pair<LogLevel, std::string>> kept_;
};

}  // namespace gptq
