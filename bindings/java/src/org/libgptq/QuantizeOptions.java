package org.libgptq;

import java.util.LinkedHashMap;
import java.util.Map;
import org.libgptq.swig.config_kind;

/** A QuantizeConfig: the GPTQ options of a model or a matrix, with its calibration. */
public final class QuantizeOptions extends Options {
  private QuantizeOptions(String json) {
    super(json);
  }

  public static QuantizeOptions fromJson(String json) {
    return new QuantizeOptions(json);
  }

  public static Builder builder() {
    return new Builder();
  }

  @Override
  int kind() {
    return config_kind.GPTQ_CONFIG_QUANTIZE;
  }

  public static final class Builder extends Options.Builder<Builder> {
    /** 2, 3, 4 or 8. */
    public Builder bits(int bits) {
      return set("bits", bits);
    }

    /** Columns per group; -1 for one group per row. */
    public Builder groupSize(int groupSize) {
      return set("group_size", groupSize);
    }

    public Builder descAct(boolean descAct) {
      return set("desc_act", descAct);
    }

    public Builder sym(boolean sym) {
      return set("sym", sym);
    }

    public Builder dampPercent(double dampPercent) {
      return set("damp_percent", dampPercent);
    }

    public Builder dampAutoIncrement(double increment) {
      return set("damp_auto_increment", increment);
    }

    public Builder staticGroups(boolean staticGroups) {
      return set("static_groups", staticGroups);
    }

    public Builder trueSequential(boolean trueSequential) {
      return set("true_sequential", trueSequential);
    }

    /** MSE clipping of the grid (MseConfig). */
    public Builder mse(boolean enabled, double norm, int grid, double maxShrink) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("enabled", enabled);
      m.put("norm", norm);
      m.put("grid", grid);
      m.put("max_shrink", maxShrink);
      return set("mse", m);
    }

    public Builder blockSize(int blockSize) {
      return set("block_size", blockSize);
    }

    /** "gptq" (v1 zero points) or "gptq_v2". */
    public Builder checkpointFormat(String format) {
      return set("checkpoint_format", format);
    }

    public Builder modulesToSkip(String... modules) {
      return set("modules_to_skip", list(modules));
    }

    public Builder calibration(CalibrationOptions calibration) {
      return set("calibration", new Json.Raw(calibration.toJson()));
    }

    /** Replace an existing output directory (only one libgptq wrote, or an empty one). */
    public Builder overwrite(boolean overwrite) {
      return set("overwrite", overwrite);
    }

    public Builder compareRtn(boolean compareRtn) {
      return set("compare_rtn", compareRtn);
    }

    /** "gptq" or "rtn". */
    public Builder method(String method) {
      return set("method", method);
    }

    public QuantizeOptions build() {
      return new QuantizeOptions(json());
    }
  }
}
