package org.libgptq;

import org.libgptq.swig.config_kind;

/** A CalibrationConfig: where the calibration text of {@link QuantizeOptions} comes from. */
public final class CalibrationOptions extends Options {
  private CalibrationOptions(String json) {
    super(json);
  }

  public static CalibrationOptions fromJson(String json) {
    return new CalibrationOptions(json);
  }

  public static Builder builder() {
    return new Builder();
  }

  @Override
  int kind() {
    return config_kind.GPTQ_CONFIG_CALIBRATION;
  }

  public static final class Builder extends Options.Builder<Builder> {
    public Builder files(String... files) {
      return set("files", list(files));
    }

    public Builder tokenIds(int... ids) {
      java.util.List<Object> l = new java.util.ArrayList<>();
      for (int id : ids) l.add(id);
      return set("token_ids", l);
    }

    public Builder nsamples(int nsamples) {
      return set("nsamples", nsamples);
    }

    /** Tokens per sample; 0 for the model's context capped at 2048. */
    public Builder seqlen(int seqlen) {
      return set("seqlen", seqlen);
    }

    public Builder seed(long seed) {
      return set("seed", seed);
    }

    public CalibrationOptions build() {
      return new CalibrationOptions(json());
    }
  }
}
