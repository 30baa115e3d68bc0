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
}

}
