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
 * would be far more), the C heap too (see WINDOWS), every kept callback and every string
 * the wrapper converted is freed. Run with a fixed, pre-touched
 * heap (ctest's -Xms/-Xmx/-XX:+AlwaysPreTouch) so that the JVM's heap does not grow
 * into the figure.
 */
class LeaksTest {
  /**
   * The C heap is the JVM's too: its JIT and GC move the figure by up to MBs either way now
   * and then, and in some runs by 64 KiB steps in several windows of the open/close cycles.
   * A leak moves every window; the median of five ignores the odd one. What each scenario
   * allows per window is far below what losing its handle would cost (a model's headers
   * are ~400 KB) and above those steps; the wrapper's own small copies (a path, a JSON
   * text) are counted exactly instead: strings_alive().
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

  /**
   * Runs f 100 times, then `cycles` times measured: RSS before and after, the C heap's
   * growth per window; prints the figures and checks them.
   */
  static void assertNoLeak(String name, int cycles, long rssAllowedKiB, long heapAllowedPerWindow, Runnable f,
      long callbacksAlive) throws Exception {
    long strings = gptq.strings_alive();
    for (int i = 0; i < 100; i++) f.run();
    long before = settledRss();
    long[] heapGrowth = new long[WINDOWS];
    for (int w = 0; w < WINDOWS; w++) {
      long heapBefore = gptq.malloc_in_use();
      for (int i = 0; i < cycles / WINDOWS; i++) f.run();
      heapGrowth[w] = gptq.malloc_in_use() - heapBefore;
    }
    long after = settledRss();
    Arrays.sort(heapGrowth);
    long heapMedian = heapGrowth[WINDOWS / 2];
    System.out.printf("RSS over %,d %s cycles: %d KiB -> %d KiB (%+d KiB); C heap in use per %d cycles: "
        + "median %+d bytes (sorted %s)%n", cycles, name, before, after, after - before, cycles / WINDOWS, heapMedian,
        Arrays.toString(heapGrowth));
    assertEquals(callbacksAlive, gptq.callbacks_alive(), name + ": kept callbacks");
    assertEquals(strings, gptq.strings_alive(), name + ": the wrapper's string copies");
    assertTrue(after - before < rssAllowedKiB, name + ": RSS grew by " + (after - before) + " KiB over " + cycles + " cycles");
    if (gptq.malloc_in_use() >= 0) { // glibc
      assertTrue(heapMedian < heapAllowedPerWindow, name + ": the C heap grew by " + heapMedian
          + " bytes per " + cycles / WINDOWS + " cycles (median)");
    }
  }

  @Test
  void noLeaks() throws Exception {
    String dir = TestSupport.source(TestSupport.DEMO_MODEL);
    long callbacksBefore = gptq.callbacks_alive();
    try (Context ctx = TestSupport.cpuContext()) {
      ctx.setLog((level, msg) -> {});
      // Each cycle replaces the log sink (freeing the last) and opens a model.
      assertNoLeak("open/close", 1000, 4096, 256 << 10, () -> {
        try (Model m = ctx.openModel(dir)) {
          ctx.setLog((level, msg) -> {});
          assertTrue(m.tokenizer().tokenize("hello world").length > 0);
        }
      }, callbacksBefore + 1);
      MatrixInput in = MatrixInput.of(new float[32 * 128], 32, 128);
      QuantizeOptions bits5 = QuantizeOptions.fromJson("{\"bits\": 5}");
      assertNoLeak("failing call", 1000, 4096, 64 << 10, () -> {
        assertThrows(GptqException.class, () -> ctx.rtnMatrix(in, bits5));
        assertThrows(GptqException.class, () -> ctx.openModel("/nonexistent/model"));
      }, callbacksBefore + 1);
    }
    assertEquals(callbacksBefore, gptq.callbacks_alive());
  }

  /**
   * A log sink that throws while a model opens: the open throws that exception, and the
   * model it made is destroyed, not lost.
   */
  @Test
  void aThrowingLogSinkLosesNoHandle() throws Exception {
    String dir = TestSupport.source(TestSupport.DEMO_MODEL);
    long callbacksBefore = gptq.callbacks_alive();
    try (Context ctx = new Context(RuntimeOptions.builder().backend("cpu").threads(1).logLevel("info").build())) {
      IllegalStateException boom = new IllegalStateException("log boom");
      ctx.setLog((level, msg) -> {
        if (msg.startsWith("opened")) throw boom;
      });
      // Exceptions through JNI keep the JIT deoptimizing and recompiling for a while:
      // RSS moves by a few MiB, where a lost model a cycle would be ~100 MiB.
      assertNoLeak("log sink throwing in open", 250, 32 << 10, 256 << 10, () -> {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> ctx.openModel(dir));
        assertTrue(e == boom);
      }, callbacksBefore + 1);
    }
    assertEquals(callbacksBefore, gptq.callbacks_alive());
  }
}
