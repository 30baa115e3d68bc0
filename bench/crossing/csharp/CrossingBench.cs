// The crossing bench of C# (bench/crossing's protocol): what the LibGptq
// layer costs per call, measured the same way in every language.
//   mono CrossingBench.exe MODEL_DIR TEXT_FILE
// prints one JSON line on stdout; GPTQ_BENCH_REPS overrides the 15
// repetitions (medians are reported).
using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using LibGptq;

class CrossingBench {
  static double Median(double[] v) {
    Array.Sort(v);
    return v[v.Length / 2];
  }

  // Median over reps of (seconds of one run of f) / per, after one warm-up.
  static double Time(int reps, double per, Action f) {
    f();
    var v = new double[reps];
    for (int r = 0; r < reps; r++) {
      var sw = Stopwatch.StartNew();
      f();
      v[r] = sw.Elapsed.TotalSeconds / per;
    }
    return Median(v);
  }

  static int Main(string[] args) {
    if (args.Length != 2) {
      Console.Error.WriteLine("usage: CrossingBench.exe MODEL_DIR TEXT_FILE");
      return 2;
    }
    int reps = 15;
    string env = Environment.GetEnvironmentVariable("GPTQ_BENCH_REPS");
    if (!string.IsNullOrEmpty(env)) reps = int.Parse(env, CultureInfo.InvariantCulture);

    using (var ctx = new Context(new RuntimeOptions { Backend = "cpu", Threads = 1 }))
    using (var model = ctx.OpenModel(args[0])) {
      // 1. A trivial call; the sum of the lengths keeps it from being dropped.
      const int Calls = 1000000;
      long checksum = 0;
      double versionNs = Time(reps, Calls, () => {
        for (int i = 0; i < Calls; i++) checksum += Context.Version.Length;
      }) * 1e9;

      // 2. The first 1024 bytes of the text (to the next character boundary).
      byte[] all = File.ReadAllBytes(args[1]);
      int end = Math.Min(1024, all.Length);
      while (end < all.Length && (all[end] & 0xC0) == 0x80) end++;
      string text = Encoding.UTF8.GetString(all, 0, end);
      Tokenizer tok = model.Tokenizer;
      const int Tokenizes = 200;
      double tokenizeUs = Time(reps, Tokenizes, () => {
        for (int i = 0; i < Tokenizes; i++) checksum += tok.Tokenize(text, TokenizeFlags.NoSpecial).Length;
      }) * 1e6;

      // 3. 256 greedy tokens streamed to a C# callback that counts them; and
      // what the callback adds: the same generation without one, interleaved.
      var perToken = new double[reps];
      var callback = new double[reps];
      using (var session = ctx.CreateSession(model, new GenerationOptions {
               Temperature = 0, MaxNewTokens = 256, StopAtEos = false })) {
        for (int r = -1; r < reps; r++) {  // r = -1: the warm-up
          int n = 0;
          var sw = Stopwatch.StartNew();
          session.Generate("To create a table", (piece, id) => { n++; return true; });
          double with = sw.Elapsed.TotalSeconds / 256 * 1e6;
          if (n < 256) throw new Exception(n + " tokens streamed, fewer than 256");
          sw = Stopwatch.StartNew();
          session.Generate("To create a table");
          double without = sw.Elapsed.TotalSeconds / 256 * 1e6;
          if (r >= 0) {
            perToken[r] = with;
            callback[r] = with - without;
          }
        }
      }
      double perTokenUs = Median(perToken), callbackUs = Median(callback);
      Console.Error.WriteLine("checksum {0}", checksum);
      Console.WriteLine(string.Format(CultureInfo.InvariantCulture,
          "{{\"language\": \"csharp\", \"version_ns\": {0:0.###}, \"tokenize_us\": {1:0.###}, " +
          "\"tokenize_bytes\": {2}, \"per_token_us\": {3:0.###}, \"callback_us\": {4:0.###}}}", versionNs, tokenizeUs, end,
          perTokenUs, callbackUs));
    }
    return 0;
  }
}
