// Error paths and the options' JSON.
using System;
using System.Globalization;
using System.IO;
using System.Threading;
using LibGptq;
using NUnit.Framework;

namespace LibGptq.Tests {

[TestFixture]
public class ErrorTests {
  [Test]
  public void MissingDirectory() {
    string tmp = Support.TempDir(), missing = Path.Combine(tmp, "no-such-model");
    try {
      using (var ctx = Support.CpuContext()) {
        var e = Assert.Throws<GptqException>(() => ctx.OpenModel(missing));
        Assert.AreEqual(Status.IO, e.Status);
        Assert.AreEqual("IO", e.StatusName);
        StringAssert.Contains(missing, e.Message);
      }
    } finally {
      Directory.Delete(tmp, true);
    }
  }

  [Test]
  public void BadConfigNamesTheField() {
    var input = new MatrixInput { Rows = 32, Cols = 128, Weights = new float[32 * 128] };
    using (var ctx = Support.CpuContext()) {
      foreach (IConfig bad in new IConfig[] { new RawConfig("{\"bits\": 5}"), new QuantizeOptions { Bits = 5 } }) {
        var e = Assert.Throws<GptqException>(() => ctx.RtnMatrix(input, bad));
        Assert.AreEqual(Status.InvalidArgument, e.Status);
        StringAssert.Contains("bits", e.Message);
      }
    }
    var t = Assert.Throws<GptqException>(() => new Context(new RuntimeOptions { Threads = -1 }));
    Assert.AreEqual(Status.InvalidArgument, t.Status);
    StringAssert.Contains("threads", t.Message);
  }

  [Test]
  public void UseAfterDispose() {
    var ctx = Support.CpuContext();
    ctx.Dispose();
    Assert.Throws<ObjectDisposedException>(() => ctx.OpenModel(Support.DemoModel));
    ctx.Dispose();
  }

  // The JSON is the schema's whatever the culture (no decimal commas).
  [Test]
  public void OptionsJsonIsCultureInvariant() {
    CultureInfo saved = Thread.CurrentThread.CurrentCulture;
    try {
      Thread.CurrentThread.CurrentCulture = new CultureInfo("de-DE");
      var o = new GenerationOptions { Temperature = 0.5, TopP = 0.9, Stop = new[] { "\n\n" }, StopAtEos = false };
      Assert.AreEqual("{\"stop\": [\"\\n\\n\"], \"stop_at_eos\": false, \"temperature\": 0.5, \"top_p\": 0.9}",
                      o.ToJson());
      using (var ctx = Support.CpuContext())
      using (var m = ctx.OpenModel(Support.DemoModel))
      using (ctx.CreateSession(m, o)) {}
    } finally {
      Thread.CurrentThread.CurrentCulture = saved;
    }
    Assert.AreEqual("{}", new QuantizeOptions().ToJson());
  }

  [Test]
  public void ConfigurationFunctions() {
    string full = Configuration.Normalize(ConfigKind.Generation, new GenerationOptions { TopK = 40 });
    var o = System.Json.JsonValue.Parse(full);
    Assert.AreEqual(40, (int)o["top_k"]);
    Assert.AreEqual(128, (int)o["max_new_tokens"], "a default filled in");
    // Longer than the first guess of the buffer (4 KiB): the retry.
    var skip = new string[400];
    for (int i = 0; i < skip.Length; i++) skip[i] = "model.layers." + i + ".mlp.down_proj";
    StringAssert.Contains("model.layers.399.mlp.down_proj",
                          Configuration.Normalize(ConfigKind.Quantize, new QuantizeOptions { ModulesToSkip = skip }));
    var e = Assert.Throws<GptqException>(() => Configuration.Normalize(ConfigKind.Quantize, new RawConfig("{\"bits\": 5}")));
    StringAssert.Contains("bits", e.Message);
    StringAssert.Contains("table QuantizeConfig", Configuration.Schema);
    Assert.AreEqual(0u, Configuration.AbiVersion);
    int[] v = Array.ConvertAll(Context.Version.Split('.'), int.Parse);
    Assert.AreEqual((uint)(10000 * v[0] + 100 * v[1] + v[2]), Configuration.VersionNumber);
  }
}

}
