// A libgptq program in C#: quantize a model (or load a quantized one) and
// stream a greedy generation from it.
//   mono GptqExample.exe MODEL_DIR CALIB_TXT OUT_DIR   # quantize, then generate
//   mono GptqExample.exe QUANTIZED_DIR                 # load the quantized model only
using System;
using LibGptq;

class Example {
  static int Main(string[] args) {
    if (args.Length != 1 && args.Length != 3) {
      Console.Error.WriteLine("usage: GptqExample.exe MODEL_DIR [CALIB_TXT OUT_DIR]");
      return 2;
    }
    try {
      Run(args);
      return 0;
    } catch (GptqException e) {
      Console.Error.WriteLine("error: " + e.StatusName + ": " + e.Message);
      return 1;
    }
  }

  static void Run(string[] args) {
    string dir = args[0];
    if (args.Length == 3) {
      Quantize(dir, args[1], args[2]);
      dir = args[2];
    }
    Console.Write("The database");
    // The core (bindings/README.md and the README quote it):
    using (var ctx = new Context(new RuntimeOptions { Backend = "cpu" }))
    using (var model = ctx.OpenModel(dir))
    using (var session = ctx.CreateSession(model, new GenerationOptions { MaxNewTokens = 24, Temperature = 0 }))
      session.Generate("The database", (piece, id) => { Console.Write(piece); return true; });
    Console.WriteLine();
  }

  // GPTQ 4-bit of the float model in dir, written to outDir, with a progress line.
  static void Quantize(string dir, string calib, string outDir) {
    var options = new QuantizeOptions {
      Bits = 4, GroupSize = 128, Overwrite = true,
      Calibration = new CalibrationOptions { Files = new[] { calib }, NSamples = 16, Seqlen = 128 } };
    string shown = "";
    using (var ctx = new Context(new RuntimeOptions { Backend = "cpu" }))
      ctx.QuantizeModel(dir, outDir, options, (stage, done, total) => {
        string line = string.Format("\r{0}: {1,3}%", stage, done * 100 / (total + 1));
        if (line != shown) Console.Error.Write(shown = line);
        return true;
      });
    Console.Error.WriteLine();
  }
}
