package org.libgptq;

import org.libgptq.swig.status;

/** The library's status of a failed call (gptq_status, without GPTQ_OK). */
public enum Status {
  INVALID_ARGUMENT(status.GPTQ_ERR_INVALID_ARGUMENT),
  IO(status.GPTQ_ERR_IO),
  FORMAT(status.GPTQ_ERR_FORMAT),
  UNSUPPORTED(status.GPTQ_ERR_UNSUPPORTED),
  OUT_OF_MEMORY(status.GPTQ_ERR_OUT_OF_MEMORY),
  DEVICE(status.GPTQ_ERR_DEVICE),
  NUMERICAL(status.GPTQ_ERR_NUMERICAL),
  CANCELLED(status.GPTQ_ERR_CANCELLED),
  INTERNAL(status.GPTQ_ERR_INTERNAL),
  BUFFER_TOO_SMALL(status.GPTQ_ERR_BUFFER_TOO_SMALL),
  REENTRANT(status.GPTQ_ERR_REENTRANT),
  /** A status this binding does not know (a newer library). */
  UNKNOWN(-1);

  private final int code;

  Status(int code) {
    this.code = code;
  }

  /** The value of gptq_status. */
  public int code() {
    return code;
  }

  /** The status of a gptq_status value; UNKNOWN for one not listed here. */
  public static Status of(int code) {
    for (Status s : values()) {
      if (s.code == code) return s;
    }
    return UNKNOWN;
  }
}
