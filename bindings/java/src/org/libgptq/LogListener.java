package org.libgptq;

/**
 * Receives a context's log lines (without newline). It runs on the thread of the call
 * that logs, never twice at once for one context. An exception thrown here cannot stop
 * the line's writer: the running call stops at its next progress or token callback and
 * throws it when it returns, destroying a handle it made (a model being opened); it is
 * printed to stderr when no call of this binding is running (a line logged while a handle
 * is closed).
 */
@FunctionalInterface
public interface LogListener {
  void onLog(LogLevel level, String message);
}
