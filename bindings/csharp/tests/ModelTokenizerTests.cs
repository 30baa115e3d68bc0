// Opening a model, its tokenizer against the C test's goldens, lifetimes.
using System;
using System.Collections.Generic;
using System.Json;
using System.Linq;
using LibGptq;
using NUnit.Framework;

namespace LibGptq.Tests {

[TestFixture]
public class ModelTokenizerTests {
  [Test]
  public void OpensAModelAndReadsItsInfo() {
    using (var ctx = Support.CpuContext())
    using (var m = ctx.OpenModel(Support.Shared("models/docs-llama-16m"))) {
      Assert.AreEqual("cpu", ctx.Backend);
      StringAssert.Contains("\"threads\"", ctx.RuntimeJson);
      var info = JsonValue.Parse(m.InfoJson);
      Assert.AreEqual("LlamaForCausalLM", (string)info["architecture"]);
      Assert.Greater((int)info["vocab_size"], 0);
    }
  }

  // The ids of tests/capi/tokenize_test.cpp: the goldens it checks.
  [Test]
  public void TokenizeMatchesTheCTestsGoldens() {
    using (var ctx = Support.CpuContext()) {
      var m = ctx.OpenModel(Support.Shared("models/docs-llama-16m"));
      Tokenizer tok = m.Tokenizer;
      var cases = (JsonArray)Support.ReadJson(Support.Source("tests/data/tokenizer/hard_cases.json"));
      var goldens = Support.ReadJson(Support.Source("tests/data/tokenizer/goldens-docs-llama-16m.json"))["hard_cases"];
      int checkedCases = 0, checkedBytes = 0;
      foreach (JsonValue c in cases) {
        string name = c["name"];
        if (!goldens.ContainsKey(name)) continue;
        var want = goldens[name];
        int[] ids = Ints(want["ids"]), noSpecial = Ints(want["ids_no_special"]);
        if (c.ContainsKey("text")) {
          string text = c["text"];
          Assert.AreEqual(ids, tok.Tokenize(text), name);
          Assert.AreEqual(noSpecial, tok.Tokenize(text, TokenizeFlags.NoSpecial), name + " (NoSpecial)");
          checkedCases++;
        } else {
          // Invalid UTF-8, given as bytes: repaired as Python's decode does.
          byte[] bytes = Hex(c["bytes_hex"]);
          Assert.AreEqual(ids, tok.Tokenize(bytes), name);
          checkedBytes++;
        }
        Assert.AreEqual((string)want["decoded"], tok.Detokenize(ids), name + " (Detokenize)");
        Assert.AreEqual((string)want["decoded_skip"], tok.Detokenize(ids, DetokenizeFlags.SkipSpecial),
                        name + " (SkipSpecial)");
      }
      Assert.GreaterOrEqual(checkedCases, 20);
      Console.WriteLine("tokenizer goldens: {0} text cases, {1} byte cases", checkedCases, checkedBytes);

      // More ids than the first guess of the buffer (a byte each, plus 8):
      // each invalid byte becomes U+FFFD, three byte-fallback ids.
      byte[] bad = Enumerable.Repeat((byte)0x80, 100).ToArray();
      int[] repaired = tok.Tokenize(bad, TokenizeFlags.NoSpecial);
      Assert.Greater(repaired.Length, bad.Length + 8);
      Assert.AreEqual(string.Concat(Enumerable.Repeat("\uFFFD", 100)), tok.Detokenize(repaired));
      // Longer text than Detokenize's first guess.
      string longText = string.Concat(Enumerable.Repeat("PostgreSQL ", 300));
      Assert.AreEqual(longText, tok.Detokenize(tok.Tokenize(longText, TokenizeFlags.NoSpecial)));
      var e = Assert.Throws<GptqException>(() => tok.Detokenize(new[] { 5, 1 << 30 }));
      Assert.AreEqual(Status.InvalidArgument, e.Status);
      StringAssert.Contains("ids[1]", e.Message);

      m.Dispose();
      Assert.Throws<ObjectDisposedException>(() => tok.Tokenize("a"));
      Assert.Throws<ObjectDisposedException>(() => { var unused = m.InfoJson; });
      m.Dispose();  // twice: a no-op
    }
  }

  [Test]
  public void OpensATokenizerWithoutAModel() {
    using (var tok = Tokenizer.Open(Support.DemoModel)) {
      int[] ids = tok.Tokenize("CREATE TABLE");
      Assert.AreEqual("<s> CREATE TABLE", tok.Detokenize(ids));
    }
    var e = Assert.Throws<GptqException>(() => Tokenizer.Open("/nonexistent/tokenizer.json"));
    Assert.AreEqual(Status.IO, e.Status);
    StringAssert.Contains("/nonexistent/tokenizer.json", e.Message);
  }

  // Handles released in any order, by Dispose or by the finalizers.
  [Test]
  public void HandlesGoInAnyOrder() {
    var ctx = Support.CpuContext();
    var m = ctx.OpenModel(Support.DemoModel);
    var s = ctx.CreateSession(m, new GenerationOptions { MaxNewTokens = 2, Temperature = 0 });
    ctx.Dispose();
    m.Dispose();
    int n = 0;
    s.Generate("The", (piece, id) => { n++; return true; });
    Assert.AreEqual(2, n);
    s.Dispose();
    for (int i = 0; i < 20; i++) {
      var c = Support.CpuContext();
      c.OpenModel(Support.DemoModel).Tokenizer.Tokenize("left to the finalizers");
    }
    GC.Collect();
    GC.WaitForPendingFinalizers();
  }

  static int[] Ints(JsonValue a) { return ((JsonArray)a).Select(v => (int)v).ToArray(); }

  static byte[] Hex(string s) {
    var b = new byte[s.Length / 2];
    for (int i = 0; i < b.Length; i++) b[i] = Convert.ToByte(s.Substring(2 * i, 2), 16);
    return b;
  }
}

}
