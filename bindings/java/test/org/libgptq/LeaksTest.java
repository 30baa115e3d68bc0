package org.libgptq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.libgptq.swig.gptq;

/**
 * 1,000 open/close cycles of a model and 1,000 cycles of two failing calls: RSS stays
 * where the first 100 left it (growth under 4 MiB; a model's headers leaked per cycle
 * would be far more), and every kept callback is freed. Run with a fixed, pre-touched
 * heap (ctest's -Xms/-Xmx/-XX:+AlwaysPreTouch) so that the JVM's heap does not grow
 * into the figure.
 */
class LeaksTest {
  static long rssKiB() throws Exception {
    String[] statm = Files.readString(Path.of("/proc/self/statm")).trim().split(" ");
    return Long.parseLong(statm[1]) * 4096 / 1024;
  }

  static long settledRss() throws Exception {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(20); // the Cleaner's thread runs the dropped handles' actions
    }
    return rssKiB();
  }

  @Test
  void noLeaks() throws Exception {
    String dir = TestSupport.source(TestSupport.DEMO_MODEL);
    long callbacksBefore = gptq.callbacks_alive();
    try (Context ctx = TestSupport.cpuContext()) {
      ctx.setLog((level, msg) -> {});
      // Each cycle replaces the log sink (freeing the last) and opens a model.
      Runnable cycle = () -> {
        try (Model m = ctx.openModel(dir)) {
          ctx.setLog((level, msg) -> {});
          assertTrue(m.tokenizer().tokenize("hello world").length > 0);
        }
      };
      MatrixInput in = MatrixInput.of(new float[32 * 128], 32, 128);
      QuantizeOptions bits5 = QuantizeOptions.fromJson("{\"bits\": 5}");
      Runnable fail = () -> {
        assertThrows(GptqException.class, () -> ctx.rtnMatrix(in, bits5));
        assertThrows(GptqException.class, () -> ctx.openModel("/nonexistent/model"));
      };
      for (String name : new String[] {"open/close", "failing call"}) {
        Runnable f = name.equals("open/close") ? cycle : fail;
        for (int i = 0; i < 100; i++) f.run();
        long before = settledRss();
        for (int i = 0; i < 1000; i++) f.run();
        long after = settledRss();
        System.out.printf("RSS over 1,000 %s cycles: %d KiB -> %d KiB (%+d KiB)%n", name, before, after, after - before);
        assertEquals(callbacksBefore + 1, gptq.callbacks_alive(), name + ": the context's current log sink only");
        assertTrue(after - before < 4096, name + ": RSS grew by " + (after - before) + " KiB over 1,000 cycles");
      }
    }
    assertEquals(callbacksBefore, gptq.callbacks_alive());
  }
}
