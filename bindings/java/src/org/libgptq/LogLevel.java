package org.libgptq;

import org.libgptq.swig.log_level;

/** The level of a log line (gptq_log_level). */
public enum LogLevel {
  ERROR(log_level.GPTQ_LOG_ERROR),
  WARN(log_level.GPTQ_LOG_WARN),
  INFO(log_level.GPTQ_LOG_INFO),
  DEBUG(log_level.GPTQ_LOG_DEBUG);

  private final int code;

  LogLevel(int code) {
    this.code = code;
  }

  /** The value of gptq_log_level. */
  public int code() {
    return code;
  }

  static LogLevel of(int code) {
    for (LogLevel l : values()) {
      if (l.code == code) return l;
    }
    return DEBUG; // a finer level than this binding knows
  }
}
