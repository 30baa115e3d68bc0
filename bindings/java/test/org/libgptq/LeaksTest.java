package org.libgptq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.libgptq.swig.gptq;

/**
 * 1,000 open/close cycles of a model and 1,000 cycles of two failing calls: RSS stays
 * where the first 100 left it (growth under 4 MiB; a model's headers leaked per cycle
 * would be far more), the C heap too (see WINDOWS), and every kept callback is freed. Run with a fixed, pre-touched
 * heap (ctest's -Xms/-Xmx/-XX:+AlwaysPreTouch) so that the JVM's heap does not grow
 * into the figure.
 */
class LeaksTest {
  /**
   * The C heap is the JVM's too: a JIT compilation in flight when a window starts or ends
   * moves the figure by up to MBs either way, now and then. A leak moves every window; the
   * median of five ignores the odd one. The wrapper's UTF-8 copies of a failing call's
   * strings take two 32-byte chunks: a leak of them alone is 12.8 KB per window of 200
   * cycles, over the 8 KiB allowed (measured without one: about 2 KB).
   */
  static final int WINDOWS = 5;

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
        long[] heapGrowth = new long[WINDOWS];
        for (int w = 0; w < WINDOWS; w++) {
          long heapBefore = gptq.malloc_in_use();
          for (int i = 0; i < 1000 / WINDOWS; i++) f.run();
          heapGrowth[w] = gptq.malloc_in_use() - heapBefore;
        }
        long after = settledRss();
        Arrays.sort(heapGrowth);
        long heapMedian = heapGrowth[WINDOWS / 2];
        System.out.printf("RSS over 1,000 %s cycles: %d KiB -> %d KiB (%+d KiB); C heap in use per %d cycles: "
            + "median %+d bytes (sorted %s)%n", name, before, after, after - before, 1000 / WINDOWS, heapMedian,
            Arrays.toString(heapGrowth));
        assertEquals(callbacksBefore + 1, gptq.callbacks_alive(), name + ": the context's current log sink only");
        assertTrue(after - before < 4096, name + ": RSS grew by " + (after - before) + " KiB over 1,000 cycles");
        if (gptq.malloc_in_use() >= 0) { // glibc
          assertTrue(heapMedian < 8 << 10, name + ": the C heap grew by " + heapMedian + " bytes per "
              + 1000 / WINDOWS + " cycles (median)");
        }
      }
    }
    assertEquals(callbacksBefore, gptq.callbacks_alive());
  }
}
