// The Java side of the crossing benchmark (bench/run_crossing_bench.py): the three calls
// of the protocol in bench/crossing/README.md through org.libgptq. Prints one JSON line.
//
//   java -Djava.library.path=<lib> -cp gptq.jar:<classes> CrossingBench <model_dir> <text_file>
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import org.libgptq.Context;
import org.libgptq.GenerationOptions;
import org.libgptq.Gptq;
import org.libgptq.Model;
import org.libgptq.RuntimeOptions;
import org.libgptq.Session;
import org.libgptq.TokenListener;
import org.libgptq.Tokenizer;

public final class CrossingBench {
  static final int VERSION_CALLS = 1_000_000;
  static final int TOKENIZE_CALLS = 200;
  static final int NEW_TOKENS = 256;

  static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s[s.length / 2];
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: CrossingBench <model_dir> <text_file>");
      System.exit(2);
    }
    int reps = 15;
    String env = System.getenv("GPTQ_BENCH_REPS");
    if (env != null && !env.isEmpty()) {
      reps = Integer.parseInt(env);
      if (reps < 1) throw new IllegalArgumentException("GPTQ_BENCH_REPS=" + env + ": want an integer >= 1");
    }
    byte[] all = Files.readAllBytes(Path.of(args[1]));
    int end = Math.min(1024, all.length);
    while (end < all.length && (all[end] & 0xc0) == 0x80) end++; // to a character's first byte
    String text = new String(all, 0, end, StandardCharsets.UTF_8);

    try (Context ctx = new Context(RuntimeOptions.builder().backend("cpu").threads(1).build());
        Model model = ctx.openModel(args[0]);
        Session session = ctx.newSession(model,
            GenerationOptions.builder().temperature(0).maxNewTokens(NEW_TOKENS).stopAtEos(false).build())) {
      Tokenizer tok = model.tokenizer();
      double[] versionNs = new double[reps], tokenizeUs = new double[reps], tokenUs = new double[reps];
      double[] callbackUs = new double[reps];
      long checksum = 0;
      for (int r = -1; r < reps; r++) { // r = -1: the warm-up
        long t0 = System.nanoTime();
        for (int i = 0; i < VERSION_CALLS; i++) checksum += Gptq.version().length();
        double v = (double) (System.nanoTime() - t0) / VERSION_CALLS;

        t0 = System.nanoTime();
        for (int i = 0; i < TOKENIZE_CALLS; i++) checksum += tok.tokenize(text, 0).length;
        double t = (System.nanoTime() - t0) / 1e3 / TOKENIZE_CALLS;

        int[] tokens = {0};
        t0 = System.nanoTime();
        session.generate("To create a table", (piece, id) -> {
          if (id >= 0) tokens[0]++;
          return true;
        });
        double g = (System.nanoTime() - t0) / 1e3 / NEW_TOKENS;
        if (tokens[0] < NEW_TOKENS) throw new IllegalStateException("generated " + tokens[0] + " tokens, expected " + NEW_TOKENS);
        // The same generation without a listener: what the listener adds.
        t0 = System.nanoTime();
        session.generate("To create a table", (TokenListener) null);
        double c = g - (System.nanoTime() - t0) / 1e3 / NEW_TOKENS;
        if (r >= 0) {
          callbackUs[r] = c;
          versionNs[r] = v;
          tokenizeUs[r] = t;
          tokenUs[r] = g;
        }
      }
      System.err.println("(checksum " + checksum + ")");
      System.out.println(String.format(Locale.ROOT,
          "{\"language\": \"java\", \"version_ns\": %.4f, \"tokenize_us\": %.4f, \"tokenize_bytes\": %d, \"per_token_us\": %.4f, \"callback_us\": %.4f}",
          median(versionNs), median(tokenizeUs), end, median(tokenUs), median(callbackUs)));
    }
  }
}
