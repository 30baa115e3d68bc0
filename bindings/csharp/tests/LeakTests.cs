// 1,000 open/close cycles of a model and 1,000 cycles of two failing calls:
// RSS stays where the first 100 cycles left it (growth under 4 MiB; a leak
// of one model's headers per cycle would be far more), and for the failing
// calls the C heap too (under 64 KiB: a leaked message alone would be ~100
// bytes a call, 200 KB in all).
using System;
using LibGptq;
using NUnit.Framework;

namespace LibGptq.Tests {

[TestFixture]
public class LeakTests {
  [Test]
  public void OpenCloseCyclesKeepRssStable() {
    using (var ctx = Support.CpuContext()) {
      ctx.SetLog((level, msg) => {});
      // Each cycle opens a model, replaces the log sink (freeing the last)
      // and tokenizes with the model's tokenizer.
      Measure("open/close", () => {
        using (var m = ctx.OpenModel(Support.DemoModel)) {
          ctx.SetLog((level, msg) => {});
          Assert.Greater(m.Tokenizer.Tokenize("hello world").Length, 0);
        }
      }, false);
    }
  }

  [Test]
  public void FailingCallsKeepRssStable() {
    var input = new MatrixInput { Rows = 32, Cols = 128, Weights = new float[32 * 128] };
    var bad = new RawConfig("{\"bits\": 5}");
    using (var ctx = Support.CpuContext()) {
      Measure("failing call", () => {
        Assert.Throws<GptqException>(() => ctx.RtnMatrix(input, bad));
        Assert.Throws<GptqException>(() => ctx.OpenModel("/nonexistent/model"));
      }, true);
    }
  }

  static void Measure(string name, Action cycle, bool checkCHeap) {
    for (int i = 0; i < 100; i++) cycle();
    long before = Support.SettledRssKiB(), heapBefore = CApi.MallocInUse();
    for (int i = 0; i < 1000; i++) cycle();
    long after = Support.SettledRssKiB(), heapAfter = CApi.MallocInUse();
    Console.WriteLine("RSS over 1,000 {0} cycles: {1} KiB -> {2} KiB ({3:+#;-#;0} KiB); C heap in use {4:+#;-#;0} bytes",
                      name, before, after, after - before, heapAfter - heapBefore);
    Assert.Less(after - before, 4096, name + ": RSS grew");
    if (checkCHeap) Assert.Less(heapAfter - heapBefore, 64 << 10, name + ": the C heap grew");
  }
}

}
