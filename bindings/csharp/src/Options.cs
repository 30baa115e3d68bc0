// Configurations as C# objects, turned into the schema's JSON
// (schema/gptq.fbs). A property left null is left out, so the library's
// default applies; the library validates what is set and its messages name
// the field. RawConfig passes JSON through untouched.
using System.Collections.Generic;
using System.Json;

namespace LibGptq {

/// <summary>A configuration: one of the option classes, or RawConfig.</summary>
public interface IConfig {
  /// <summary>The JSON the library takes.</summary>
  string ToJson();
}

/// <summary>Configuration JSON given as is.</summary>
public sealed class RawConfig : IConfig {
  readonly string json;
  public RawConfig(string json) { this.json = json; }
  public string ToJson() { return json; }
}

/// <summary>Builds a JSON object of the fields that are set.</summary>
internal sealed class JsonFields {
  readonly JsonObject o = new JsonObject();
  internal JsonFields AddValue(string name, JsonValue v) {
    if (!ReferenceEquals(v, null)) o.Add(name, v);
    return this;
  }
  internal JsonFields Add(string name, int? v) { return v.HasValue ? AddValue(name, v.Value) : this; }
  internal JsonFields Add(string name, ulong? v) { return v.HasValue ? AddValue(name, v.Value) : this; }
  internal JsonFields Add(string name, double? v) { return v.HasValue ? AddValue(name, v.Value) : this; }
  internal JsonFields Add(string name, bool? v) { return v.HasValue ? AddValue(name, v.Value) : this; }
  internal JsonFields Add(string name, string v) { return v != null ? AddValue(name, v) : this; }
  internal JsonFields Add(string name, IEnumerable<string> v) {
    if (v == null) return this;
    var a = new JsonArray();
    foreach (var s in v) a.Add((JsonValue)s);
    return AddValue(name, a);
  }
  internal JsonFields Add(string name, IEnumerable<int> v) {
    if (v == null) return this;
    var a = new JsonArray();
    foreach (var i in v) a.Add((JsonValue)i);
    return AddValue(name, a);
  }
  internal JsonObject Object { get { return o; } }
  public override string ToString() { return o.ToString(); }
}

internal static class Config {
  // "" (all defaults) for null.
  internal static string Json(IConfig c) { return c == null ? "" : (c.ToJson() ?? ""); }
}

/// <summary>A RuntimeConfig: backend ("auto", "cpu", "cuda"), device, CPU threads, log level.</summary>
public sealed class RuntimeOptions : IConfig {
  public string Backend { get; set; }
  public int? Device { get; set; }
  public int? Threads { get; set; }
  public string LogLevel { get; set; }
  public string ToJson() {
    return new JsonFields().Add("backend", Backend).Add("device", Device).Add("threads", Threads)
        .Add("log_level", LogLevel).ToString();
  }
}

/// <summary>A CalibrationConfig: where the calibration text comes from.</summary>
public sealed class CalibrationOptions {
  public IList<string> Files { get; set; }
  public IList<int> TokenIds { get; set; }
  public int? NSamples { get; set; }
  public int? Seqlen { get; set; }
  public ulong? Seed { get; set; }
  internal JsonValue ToJsonValue() {
    return new JsonFields().Add("files", Files).Add("token_ids", TokenIds).Add("nsamples", NSamples)
        .Add("seqlen", Seqlen).Add("seed", Seed).Object;
  }
}

/// <summary>A QuantizeConfig (bits, group size, ... and its calibration).</summary>
public sealed class QuantizeOptions : IConfig {
  public int? Bits { get; set; }
  public int? GroupSize { get; set; }  // -1: one group per row
  public bool? DescAct { get; set; }
  public bool? Sym { get; set; }
  public double? DampPercent { get; set; }
  public bool? StaticGroups { get; set; }
  public bool? TrueSequential { get; set; }
  public int? BlockSize { get; set; }
  public string CheckpointFormat { get; set; }
  public IList<string> ModulesToSkip { get; set; }
  public CalibrationOptions Calibration { get; set; }
  public bool? Overwrite { get; set; }
  public string Method { get; set; }  // "gptq" or "rtn"
  public string ToJson() {
    return new JsonFields().Add("bits", Bits).Add("group_size", GroupSize).Add("desc_act", DescAct)
        .Add("sym", Sym).Add("damp_percent", DampPercent).Add("static_groups", StaticGroups)
        .Add("true_sequential", TrueSequential).Add("block_size", BlockSize)
        .Add("checkpoint_format", CheckpointFormat).Add("modules_to_skip", ModulesToSkip)
        .AddValue("calibration", Calibration == null ? null : Calibration.ToJsonValue())
        .Add("overwrite", Overwrite).Add("method", Method).ToString();
  }
}

/// <summary>A GenerationConfig; Temperature 0 is greedy.</summary>
public sealed class GenerationOptions : IConfig {
  public int? MaxNewTokens { get; set; }
  public double? Temperature { get; set; }
  public int? TopK { get; set; }
  public double? TopP { get; set; }
  public double? RepetitionPenalty { get; set; }
  public ulong? Seed { get; set; }
  public IList<string> Stop { get; set; }
  public bool? StopAtEos { get; set; }
  public string ToJson() {
    return new JsonFields().Add("max_new_tokens", MaxNewTokens).Add("temperature", Temperature)
        .Add("top_k", TopK).Add("top_p", TopP).Add("repetition_penalty", RepetitionPenalty)
        .Add("seed", Seed).Add("stop", Stop).Add("stop_at_eos", StopAtEos).ToString();
  }
}

/// <summary>An EvalConfig: perplexity windows.</summary>
public sealed class EvalOptions : IConfig {
  public int? Seqlen { get; set; }
  public int? MaxWindows { get; set; }
  public string ToJson() { return new JsonFields().Add("seqlen", Seqlen).Add("max_windows", MaxWindows).ToString(); }
}

}
