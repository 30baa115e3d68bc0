// Generation against the C API's, stopping, callbacks' exceptions,
// perplexity and the log sink.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using LibGptq;
using NUnit.Framework;

namespace LibGptq.Tests {

[TestFixture]
public class GenerateTests {
  const string Prompt = "To create a table in PostgreSQL, use the";

  // The streamed ids equal those the C API streams for the same request.
  [Test]
  public void GreedyGenerationEqualsTheCApis() {
    string dir = Support.Shared("models/docs-llama-16m");
    int[] want = CApi.GreedyIds(dir, Prompt, 8);
    using (var ctx = Support.CpuContext())
    using (var m = ctx.OpenModel(dir))
    using (var s = ctx.CreateSession(m, new GenerationOptions { MaxNewTokens = 8, Temperature = 0 })) {
      var ids = new List<int>();
      var text = new StringBuilder();
      s.Generate(Prompt, (piece, id) => {
        ids.Add(id);
        text.Append(piece);
        return true;
      });
      Assert.GreaterOrEqual(want.Length, 8);
      Assert.AreEqual(want, ids.ToArray(), "C# streamed vs the C API");
      StringAssert.StartsWith(" CREATE TABLE", text.ToString());

      // Stopping from the callback, an exception in it, a progress cancel.
      int n = 0;
      s.Generate(Prompt, (piece, id) => { n++; return false; });
      Assert.AreEqual(1, n);
      var thrown = Assert.Throws<ArithmeticException>(() => s.Generate(Prompt, (piece, id) => {
        throw new ArithmeticException("token exception");
      }));
      Assert.AreEqual("token exception", thrown.Message);
      s.SetProgress((stage, done, total) => done < 3);
      var e = Assert.Throws<GptqException>(() => s.Generate(Prompt));
      Assert.AreEqual(Status.Cancelled, e.Status);
      s.SetProgress((stage, done, total) => { throw new FormatException("progress exception"); });
      Assert.Throws<FormatException>(() => s.Generate(Prompt));
      s.SetProgress(null);
      n = 0;
      s.Generate(Prompt, (piece, id) => { n++; return true; });
      Assert.AreEqual(8, n);
    }
  }

  // A batch: each sequence's greedy text is its prompt's alone; stopping one
  // sequence leaves the others whole; an exception stops all and is thrown;
  // no prompt is the library's error.
  [Test]
  public void GenerateBatch() {
    // The prompts of tests/core/eval/generate_test.cpp's GenerateBatch (ragged: 11,
    // 4 and 21 tokens), which checks that their greedy continuations have no
    // near-tie: a batched pass cannot flip a token of them, on any CPU.
    string[] prompts = { Prompt, "SELECT",
        "The PostgreSQL documentation explains how to create an index on a table so that queries which filter on" };
    using (var ctx = Support.CpuContext())
    using (var m = ctx.OpenModel(Support.Shared("models/docs-llama-16m")))
    using (var s = ctx.CreateSession(m, new GenerationOptions { MaxNewTokens = 8, Temperature = 0 })) {
      var alone = new string[prompts.Length];
      for (int i = 0; i < prompts.Length; i++) {
        var text = new StringBuilder();
        s.Generate(prompts[i], (piece, id) => { text.Append(piece); return true; });
        alone[i] = text.ToString();
      }
      string[] batch = s.GenerateBatch(prompts);
      for (int i = 0; i < prompts.Length; i++) {
        Assert.IsNotEmpty(batch[i], "sequence " + i);
        Assert.AreEqual(alone[i], batch[i], "sequence " + i + ": batch vs alone");
      }

      var texts = new[] { new StringBuilder(), new StringBuilder(), new StringBuilder() };
      var calls = new int[prompts.Length];
      s.GenerateBatch(prompts, (seq, piece, id) => {
        texts[seq].Append(piece);
        calls[seq]++;
        return seq != 1;
      });
      Assert.AreEqual(1, calls[1], "sequence 1's calls after it stopped at its first");
      Assert.AreEqual(alone[0], texts[0].ToString());
      Assert.AreEqual(alone[2], texts[2].ToString());

      var thrown = Assert.Throws<ArithmeticException>(() => s.GenerateBatch(prompts, (seq, piece, id) => {
        throw new ArithmeticException("batch exception");
      }));
      Assert.AreEqual("batch exception", thrown.Message);
      var e = Assert.Throws<GptqException>(() => s.GenerateBatch(new string[0]));
      Assert.AreEqual(Status.InvalidArgument, e.Status);
      StringAssert.Contains("no prompt", e.Message);
      s.SetProgress((stage, done, total) => done < 3);
      Assert.AreEqual(Status.Cancelled, Assert.Throws<GptqException>(() => s.GenerateBatch(prompts)).Status);
      s.SetProgress(null);
    }
  }

  [Test]
  public void Perplexity() {
    using (var ctx = Support.CpuContext())
    using (var m = ctx.OpenModel(Support.Shared("models/docs-llama-16m"))) {
      string text = string.Concat(Enumerable.Repeat(
          "PostgreSQL is a powerful, open source object-relational database system. ", 12));
      var done = new List<ulong>();
      EvalReport r = ctx.Evaluate(m, text, new EvalOptions { Seqlen = 32 }, (stage, d, total) => {
        Assert.AreEqual("perplexity", stage);
        done.Add(d);
        return true;
      });
      Assert.GreaterOrEqual(r.Windows, 2);
      Assert.AreEqual(r.Windows * 31, r.Tokens);
      Assert.That(r.Ppl > 1 && r.Ppl < 1000, "ppl " + r.Ppl);
      Assert.AreEqual(Math.Exp(r.Nll), r.Ppl, 1e-9 * r.Ppl);
      Assert.AreEqual(r.Windows, r.WindowNll.Length);
      Assert.AreEqual("cpu", r.Backend);
      Assert.AreEqual((ulong)r.Windows, done[done.Count - 1]);
      var e = Assert.Throws<GptqException>(() => ctx.Evaluate(m, "short"));
      Assert.AreEqual(Status.InvalidArgument, e.Status);
      StringAssert.Contains("fewer than one window", e.Message);
    }
  }

  // The log sink gets the lines written while the context was created.
  [Test]
  public void LogSink() {
    using (var ctx = new Context(new RuntimeOptions { Backend = "cpu", LogLevel = "info" })) {
      var lines = new List<string>();
      ctx.SetLog((level, msg) => lines.Add(level + " " + msg));
      StringAssert.Contains("backend", string.Join("\n", lines));
      ctx.SetLog((level, msg) => { throw new Exception("dropped: logging cannot stop the work"); });
      using (var m = ctx.OpenModel(Support.DemoModel)) {}
      ctx.SetLog(null);
    }
  }
}

}
