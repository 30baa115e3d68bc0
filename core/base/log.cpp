#include "core/base/log.h"

#include <cstdio>

namespace gptq {

const char *log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::Error: return "error";
    case LogLevel::Warn: return "warn";
    case LogLevel::Info: return "info";
    case LogLevel::Debug: return "debug";
  }
  return "?";
}

void Logger::set_sink(Sink sink) {
  std::lock_guard lock(mutex_);
  sink_ = std::move(sink);
  if (sink_ && !sink_seen_) {
    sink_seen_ = true;
    for (const auto &[level, message] : kept_) deliver(level, message);
    kept_.clear();
  }
}

void Logger::log(LogLevel level, const std::string &message) {
  if (!enabled(level)) return;
  std::lock_guard lock(mutex_);
  if (!sink_seen_ && kept_.size() < kMaxKept) kept_.emplace_back(level, message);
  deliver(level, message);
}

void Logger::deliver(LogLevel level, const std::string &message) {
  if (!sink_) {
    std::fprintf(stderr, "libgptq [%s] %s\n", log_level_name(level), message.c_str());
    return;
  }
  try {
    sink_(level, message);
  } catch (...) {
    // A log sink must not be able to break the call that logged.
  }
}

}  // namespace gptq
