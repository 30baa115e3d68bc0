// Quantizing the demo model with a progress callback; cancelling from it.
using System;
using System.Collections.Generic;
using System.IO;
using System.Json;
using LibGptq;
using NUnit.Framework;

namespace LibGptq.Tests {

[TestFixture]
public class QuantizeTests {
  static QuantizeOptions Options() {
    return new QuantizeOptions {
      Bits = 4, GroupSize = 128,
      Calibration = new CalibrationOptions { Files = new[] { Support.Source("demo/text/calib.txt") }, NSamples = 4,
                                             Seqlen = 64 } };
  }

  [Test]
  public void QuantizesTheDemoModelWithProgress() {
    string tmp = Support.TempDir(), output = Path.Combine(tmp, "q");
    try {
      var stages = new Dictionary<string, List<ulong>>();
      using (var ctx = Support.CpuContext()) {
        string report = ctx.QuantizeModel(Support.DemoModel, output, Options(), (stage, done, total) => {
          if (!stages.ContainsKey(stage)) stages[stage] = new List<ulong>();
          stages[stage].Add(done);
          return true;
        });
        Assert.AreEqual(6 * 7, ((JsonArray)JsonValue.Parse(report)["layers"]).Count);
        foreach (string stage in new[] { "quantize", "write checkpoint" }) {
          Assert.That(stages.ContainsKey(stage), stage);
          List<ulong> d = stages[stage];
          Assert.GreaterOrEqual(d.Count, 2, stage);
          Assert.AreEqual(0UL, d[0], stage);
          for (int i = 1; i < d.Count; i++) Assert.GreaterOrEqual(d[i], d[i - 1], stage + " went back");
        }
        // The checkpoint opens and generates.
        using (var m = ctx.OpenModel(output))
        using (var s = ctx.CreateSession(m, new GenerationOptions { MaxNewTokens = 4, Temperature = 0 })) {
          int pieces = 0;
          s.Generate("The database", (piece, id) => { pieces++; return true; });
          Assert.GreaterOrEqual(pieces, 4);
        }
      }
    } finally {
      Directory.Delete(tmp, true);
    }
  }

  [Test]
  public void CancelFromTheCallbackWritesNothing() {
    string tmp = Support.TempDir(), output = Path.Combine(tmp, "q");
    try {
      using (var ctx = Support.CpuContext()) {
        int calls = 0;
        var e = Assert.Throws<GptqException>(() => ctx.QuantizeModel(Support.DemoModel, output, Options(),
            (stage, done, total) => ++calls < 3));
        Assert.AreEqual(Status.Cancelled, e.Status);
        Assert.AreEqual(3, calls, "calls after the cancel");
        Assert.IsEmpty(Directory.GetFileSystemEntries(tmp));

        // An exception in the callback stops the work too, and comes out of the call.
        calls = 0;
        var thrown = Assert.Throws<InvalidOperationException>(() => ctx.QuantizeModel(Support.DemoModel, output,
            Options(), (stage, done, total) => {
              if (++calls == 2) throw new InvalidOperationException("stop here");
              return true;
            }));
        Assert.AreEqual("stop here", thrown.Message);
        Assert.AreEqual(2, calls, "calls after the exception");
        Assert.IsEmpty(Directory.GetFileSystemEntries(tmp));
      }
    } finally {
      Directory.Delete(tmp, true);
    }
  }
}

}
