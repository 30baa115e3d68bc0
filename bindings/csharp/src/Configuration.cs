// The library's configuration functions: the schema and the check that
// fills in every default (gptq_config_convert, JSON to JSON).
using LibGptq.Native;

namespace LibGptq {

/// <summary>Which table of schema/gptq.fbs a configuration is.</summary>
public enum ConfigKind {
  Quantize = (int)config_kind.GPTQ_CONFIG_QUANTIZE,
  Calibration = (int)config_kind.GPTQ_CONFIG_CALIBRATION,
  Runtime = (int)config_kind.GPTQ_CONFIG_RUNTIME,
  Generation = (int)config_kind.GPTQ_CONFIG_GENERATION,
  QuantizeReport = (int)config_kind.GPTQ_CONFIG_QUANTIZE_REPORT,
  ModelInfo = (int)config_kind.GPTQ_CONFIG_MODEL_INFO,
  Eval = (int)config_kind.GPTQ_CONFIG_EVAL,
  EvalReport = (int)config_kind.GPTQ_CONFIG_EVAL_REPORT,
}

public static class Configuration {
  /// <summary>The schema (flatbuffers IDL of schema/gptq.fbs) the library validates against.</summary>
  public static string Schema { get { return gptq.config_schema(); } }

  /// <summary>The library's version as GPTQ_VERSION_NUMBER computes it.</summary>
  public static uint VersionNumber { get { return gptq.version_number(); } }

  /// <summary>The library's ABI version (the SONAME's suffix).</summary>
  public static uint AbiVersion { get { return gptq.abi_version(); } }

  /// <summary>
  /// Validates config as a kind's table and returns its JSON with every field
  /// present (defaults filled in): a check before a long call. A bad field is
  /// a GptqException naming it.
  /// </summary>
  public static string Normalize(ConfigKind kind, IConfig config) {
    byte[] input = Utf8.Bytes(Config.Json(config));
    byte[] output = new byte[4096];
    long size = 0;
    try {
      gptq.config_convert((config_kind)kind, input, input.Length, config_encoding.GPTQ_ENCODING_JSON,
                          config_encoding.GPTQ_ENCODING_JSON, output, output.Length, out size);
    } catch (GptqException e) when (e.Status == Status.BufferTooSmall) {
      output = new byte[size + 1];
      gptq.config_convert((config_kind)kind, input, input.Length, config_encoding.GPTQ_ENCODING_JSON,
                          config_encoding.GPTQ_ENCODING_JSON, output, output.Length, out size);
    }
    return Utf8.FromBytes(output, (int)size);
  }
}

}
