// A libgptq program in Java: quantize a model to 4 bits with GPTQ (or load the GPTQ
// checkpoint already in the output folder) and stream a greedy continuation of a prompt.
//
//   java -Djava.library.path=<lib> -cp gptq.jar:. QuantizeGenerate \
//       <model_dir> <calibration.txt> <out_dir> [prompt]
// e.g. from the repository's root, with libgptq built in build/default:
//   java -Djava.library.path=build/default/lib -cp build/default/bindings/java/gptq.jar \
//       examples/java/QuantizeGenerate.java demo/docs-llama-tiny demo/text/calib.txt \
//       /tmp/tiny-gptq "To create a table"
import java.nio.file.Files;
import java.nio.file.Path;
import org.libgptq.CalibrationOptions;
import org.libgptq.Context;
import org.libgptq.GenerationOptions;
import org.libgptq.GptqException;
import org.libgptq.Gptq;
import org.libgptq.Model;
import org.libgptq.QuantizeOptions;
import org.libgptq.Session;

public final class QuantizeGenerate {
  public static void main(String[] args) {
    if (args.length < 3 || args.length > 4) {
      System.err.println("usage: QuantizeGenerate <model_dir> <calibration.txt> <out_dir> [prompt]");
      System.exit(2);
    }
    String prompt = args.length == 4 ? args[3] : "To create a table in PostgreSQL, use the";
    try {
      run(args[0], args[1], args[2], prompt);
    } catch (GptqException e) {
      System.err.println("error: " + e.getMessage());
      System.exit(1);
    }
  }

  static void run(String modelDir, String calibration, String outDir, String prompt) {
    try (Context ctx = new Context()) {
      System.out.println("libgptq " + Gptq.version() + " on " + ctx.backend() + " (" + ctx.deviceName() + ")");

      if (Files.exists(Path.of(outDir))) {
        System.out.println("loading the GPTQ checkpoint in " + outDir);
      } else {
        QuantizeOptions options = QuantizeOptions.builder().bits(4).groupSize(128)
            .calibration(CalibrationOptions.builder().files(calibration).nsamples(16).seqlen(128).build())
            .build();
        long[] lastQuarter = {-1};
        ctx.quantizeModel(modelDir, outDir, options, (stage, done, total) -> {
          long percent = total > 0 ? done * 100 / total : 0;
          if (stage.equals("quantize") && percent / 25 != lastQuarter[0]) {
            lastQuarter[0] = percent / 25;
            System.out.println("quantizing: " + percent + "%");
          }
          return true; // false would cancel
        });
        System.out.println("wrote " + outDir);
      }

      try (Model model = ctx.openModel(outDir);
          Session session = ctx.newSession(model, GenerationOptions.builder().maxNewTokens(24).temperature(0).build())) {
        System.out.print(prompt);
        session.generate(prompt, (piece, id) -> { System.out.print(piece); return true; }); // false would stop
        System.out.println();
      }
    }
  }
}
