// The EvalReport of schema/gptq.fbs, read from the library's JSON.
using System.Json;
using System.Linq;

namespace LibGptq {

public sealed class EvalReport {
  public double Ppl { get; private set; }
  public double Nll { get; private set; }
  public long Windows { get; private set; }
  public long Tokens { get; private set; }
  public long TextTokens { get; private set; }
  public double[] WindowNll { get; private set; }
  public double Seconds { get; private set; }
  public string Backend { get; private set; }
  /// <summary>The report as the library gave it.</summary>
  public string Json { get; private set; }

  internal EvalReport(string json) {
    Json = json;
    var o = (JsonObject)JsonValue.Parse(json);
    Ppl = o["ppl"];
    Nll = o["nll"];
    Windows = o["windows"];
    Tokens = o["tokens"];
    TextTokens = o["text_tokens"];
    WindowNll = o.ContainsKey("window_nll") ? ((JsonArray)o["window_nll"]).Select(v => (double)v).ToArray()
                                            : new double[0];
    Seconds = o["seconds"];
    Backend = o["backend"];
  }
}

}
