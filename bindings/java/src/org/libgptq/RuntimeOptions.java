package org.libgptq;

import org.libgptq.swig.config_kind;

/** A RuntimeConfig: backend, device, CPU threads and log level of a {@link Context}. */
public final class RuntimeOptions extends Options {
  private RuntimeOptions(String json) {
    super(json);
  }

  public static RuntimeOptions fromJson(String json) {
    return new RuntimeOptions(json);
  }

  public static Builder builder() {
    return new Builder();
  }

  @Override
  int kind() {
    return config_kind.GPTQ_CONFIG_RUNTIME;
  }

  public static final class Builder extends Options.Builder<Builder> {
    /** "auto" (CUDA when present), "cpu" or "cuda". */
    public Builder backend(String backend) {
      return set("backend", backend);
    }

    public Builder device(int device) {
      return set("device", device);
    }

    /** CPU threads the context computes on; 0 for one per CPU. */
    public Builder threads(int threads) {
      return set("threads", threads);
    }

    /** "error", "warn", "info" or "debug". */
    public Builder logLevel(String level) {
      return set("log_level", level);
    }

    public RuntimeOptions build() {
      return new RuntimeOptions(json());
    }
  }
}
