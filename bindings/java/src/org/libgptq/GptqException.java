package org.libgptq;

/**
 * A failed call: the library's status and its message, which names what went wrong and
 * where (file, tensor, configuration field). The message is read from gptq_last_error()
 * inside the JNI wrapper, on the failing call's thread, right after the call.
 *
 * <p>Unchecked, on purpose: every call of the library can fail (out of memory, a device
 * error) and almost no caller can do more than report it, so a checked exception would
 * put a {@code throws} clause on every method and a try/catch in every lambda (a
 * progress or token listener cannot throw a checked exception through
 * {@code Stream}s or executors either) without making programs more correct. The
 * statuses a caller can act on are in {@link #status()}, e.g. CANCELLED.
 */
public class GptqException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int code;
  private final String libraryMessage;

  /** Called by the JNI wrapper (java_runtime.c.in) and by this package. */
  GptqException(int code, String libraryMessage) {
    super(Status.of(code).name() + ": " + libraryMessage);
    this.code = code;
    this.libraryMessage = libraryMessage;
  }

  GptqException(Status status, String libraryMessage) {
    this(status.code(), libraryMessage);
  }

  /** The status; UNKNOWN for a value this binding does not know (see {@link #code()}). */
  public Status status() {
    return Status.of(code);
  }

  /** The gptq_status value as the library returned it. */
  public int code() {
    return code;
  }

  /** The library's message alone ({@link #getMessage()} is "STATUS: message"). */
  public String libraryMessage() {
    return libraryMessage;
  }

  static GptqException closed(String what) {
    return new GptqException(Status.INVALID_ARGUMENT, "use of a closed " + what);
  }
}
