package org.libgptq;

import org.libgptq.swig.config_kind;

/** A GenerationConfig: sampling and stopping of a {@link Session}. Temperature 0 is greedy. */
public final class GenerationOptions extends Options {
  private GenerationOptions(String json) {
    super(json);
  }

  public static GenerationOptions fromJson(String json) {
    return new GenerationOptions(json);
  }

  public static Builder builder() {
    return new Builder();
  }

  @Override
  int kind() {
    return config_kind.GPTQ_CONFIG_GENERATION;
  }

  public static final class Builder extends Options.Builder<Builder> {
    public Builder maxNewTokens(int maxNewTokens) {
      return set("max_new_tokens", maxNewTokens);
    }

    public Builder temperature(double temperature) {
      return set("temperature", temperature);
    }

    public Builder topK(int topK) {
      return set("top_k", topK);
    }

    public Builder topP(double topP) {
      return set("top_p", topP);
    }

    public Builder repetitionPenalty(double penalty) {
      return set("repetition_penalty", penalty);
    }

    public Builder seed(long seed) {
      return set("seed", seed);
    }

    public Builder stop(String... stop) {
      return set("stop", list(stop));
    }

    public Builder stopAtEos(boolean stopAtEos) {
      return set("stop_at_eos", stopAtEos);
    }

    public GenerationOptions build() {
      return new GenerationOptions(json());
    }
  }
}
