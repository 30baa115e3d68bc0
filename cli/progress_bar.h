// A one-line progress bar with ETA on stderr, for gptq_progress_fn callbacks:
// redrawn in place on a terminal, a line every 10% otherwise (logs stay short).
#pragma once

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <string>

namespace gptq::cli {

class ProgressBar {
 public:
  // Usable as the gptq_progress_fn with `this` as user data. Cancels (returns
  // non-zero) once Ctrl-C was pressed, so the library stops and cleans up.
  static int callback(void *user, const char *stage, uint64_t done, uint64_t total) {
    static_cast<ProgressBar *>(user)->update(stage, done, total);
    return interrupted() ? 1 : 0;
  }

  // Makes the first SIGINT/SIGTERM request a cancel instead of killing the
  // process (which would leave the library no chance to remove its staging
  // files). The library sees the request only at its next progress report;
  // a step that reports none (reading a slow pipe, say) would keep the user
  // waiting, so a second signal ends the process at once: the handler puts
  // the default action back. The next run into the same place removes the
  // staging directory such a kill leaves (core/io/staging_directory.h).
  static void cancel_on_interrupt() {
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
  }
  static bool interrupted() { return interrupt_flag() != 0; }

  void update(const std::string &stage, uint64_t done, uint64_t total) {
    const auto now = std::chrono::steady_clock::now();
    if (stage != stage_) {
      finish_line();
      stage_ = stage;
      start_ = now;
      last_decile_ = -1;
    }
    if (total == 0) return;
    const double frac = static_cast<double>(done) / static_cast<double>(total);
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double eta = done > 0 ? elapsed * (1.0 - frac) / frac : 0.0;
    const int width = 30;
    const int filled = static_cast<int>(frac * width + 0.5);
    char line[256];
    std::snprintf(line, sizeof line, "%-16s [%s%s] %3.0f%% %llu/%llu  %s elapsed, ETA %s", stage.c_str(),
                  std::string(static_cast<size_t>(filled), '#').c_str(),
                  std::string(static_cast<size_t>(width - filled), '.').c_str(), frac * 100.0,
                  static_cast<unsigned long long>(done), static_cast<unsigned long long>(total),
                  clock_text(elapsed).c_str(), done > 0 ? clock_text(eta).c_str() : "--:--");
    if (tty_) {
      std::fprintf(stderr, "\r%s", line);
      open_line_ = true;
    } else if (int decile = static_cast<int>(frac * 10); decile != last_decile_) {
      last_decile_ = decile;
      std::fprintf(stderr, "%s\n", line);
    }
    std::fflush(stderr);
  }

  void finish_line() {
    if (open_line_) std::fputc('\n', stderr);
    open_line_ = false;
  }

  ~ProgressBar() { finish_line(); }

 private:
  static std::string clock_text(double seconds) {
    const long s = static_cast<long>(seconds + 0.5);
    char buf[32];
    if (s >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else std::snprintf(buf, sizeof buf, "%02ld:%02ld", s / 60, s % 60);
    return buf;
  }

  // Async-signal-safe only: a flag, sigaction, write.
  static void on_interrupt(int) {
    interrupt_flag() = 1;
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGINT, &dfl, nullptr);
    sigaction(SIGTERM, &dfl, nullptr);
    static const char kMessage[] = "\ngptq: stopping at the next step; interrupt again to quit at once\n";
    [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, kMessage, sizeof kMessage - 1);
  }

  static volatile std::sig_atomic_t &interrupt_flag() {
    static volatile std::sig_atomic_t flag = 0;
    return flag;
  }

  bool tty_ = isatty(STDERR_FILENO) != 0;
  bool open_line_ = false;
  std::string stage_;
  std::chrono::steady_clock::time_point start_;
  int last_decile_ = -1;
};

}  // namespace gptq::cli
