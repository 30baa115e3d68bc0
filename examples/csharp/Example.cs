// A libgptq program in C#: quantize a model to 4 bits with GPTQ (or load the
// GPTQ checkpoint already in the output folder) and stream a greedy
// continuation of a prompt.
//   mono GptqExample.exe <model_dir> <calibration.txt> <out_dir> [prompt]
using System;
using System.IO;
using LibGptq;

class Example {
  static int Main(string[] args) {
    if (args.Length < 3 || args.Length > 4) {
      Console.Error.WriteLine("usage: GptqExample.exe <model_dir> <calibration.txt> <out_dir> [prompt]");
      return 2;
    }
    string prompt = args.Length == 4 ? args[3] : "To create a table in PostgreSQL, use the";
    try {
      Run(args[0], args[1], args[2], prompt);
      return 0;
    } catch (GptqException e) {
      Console.Error.WriteLine("error: " + e.StatusName + ": " + e.Message);
      return 1;
    }
  }

  static void Run(string modelDir, string calibration, string outDir, string prompt) {
    using (var ctx = new Context(new RuntimeOptions()))
    {
      Console.WriteLine("libgptq {0} on {1} ({2})", Context.Version, ctx.Backend, ctx.DeviceName);
      if (Directory.Exists(outDir)) {
        Console.WriteLine("loading the GPTQ checkpoint in " + outDir);
      } else {
        var options = new QuantizeOptions { Bits = 4, GroupSize = 128,
          Calibration = new CalibrationOptions { Files = new[] { calibration }, NSamples = 16, Seqlen = 128 } };
        ulong lastQuarter = ulong.MaxValue;
        ctx.QuantizeModel(modelDir, outDir, options, (stage, done, total) => {
          ulong percent = total > 0 ? done * 100 / total : 0;
          if (stage == "quantize" && percent / 25 != lastQuarter) {
            lastQuarter = percent / 25;
            Console.WriteLine("quantizing: {0}%", percent);
          }
          return true;  // false would cancel
        });
        Console.WriteLine("wrote " + outDir);
      }
      Console.Write(prompt);
      using (var model = ctx.OpenModel(outDir))
      using (var session = ctx.CreateSession(model, new GenerationOptions { MaxNewTokens = 24, Temperature = 0 }))
        session.Generate(prompt, (piece, id) => { Console.Write(piece); return true; });  // false would stop
      Console.WriteLine();
    }
  }
}
