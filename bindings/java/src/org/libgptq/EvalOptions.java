package org.libgptq;

import org.libgptq.swig.config_kind;

/** An EvalConfig: the perplexity windows of {@link Context#evaluate}. */
public final class EvalOptions extends Options {
  private EvalOptions(String json) {
    super(json);
  }

  public static EvalOptions fromJson(String json) {
    return new EvalOptions(json);
  }

  public static Builder builder() {
    return new Builder();
  }

  @Override
  int kind() {
    return config_kind.GPTQ_CONFIG_EVAL;
  }

  public static final class Builder extends Options.Builder<Builder> {
    public Builder seqlen(int seqlen) {
      return set("seqlen", seqlen);
    }

    /** 0: every window. */
    public Builder maxWindows(int maxWindows) {
      return set("max_windows", maxWindows);
    }

    public EvalOptions build() {
      return new EvalOptions(json());
    }
  }
}
