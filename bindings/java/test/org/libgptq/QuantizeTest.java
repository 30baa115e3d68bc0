package org.libgptq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QuantizeTest {
  @TempDir Path tmp;

  @Test
  void quantizesTheDemoModelWithProgress() {
    String out = tmp.resolve("q").toString();
    Map<String, List<Long>> stages = new LinkedHashMap<>();
    try (Context ctx = TestSupport.cpuContext()) {
      String report = ctx.quantizeModel(TestSupport.source(TestSupport.DEMO_MODEL), out, TestSupport.demoQuantizeOptions(),
          (stage, done, total) -> {
            stages.computeIfAbsent(stage, s -> new ArrayList<>()).add(done);
            return true;
          });
      List<?> layers = (List<?>) ((Map<?, ?>) Json.parse(report)).get("layers");
      assertEquals(6 * 7, layers.size());
      for (String stage : List.of("quantize", "write checkpoint")) {
        List<Long> d = stages.get(stage);
        assertTrue(d != null && d.size() >= 2 && d.get(0) == 0, stage + ": " + d);
        for (int i = 1; i < d.size(); i++) assertTrue(d.get(i) >= d.get(i - 1), stage + " went back: " + d);
      }
      // The checkpoint opens and generates.
      try (Model m = ctx.openModel(out);
          Session s = ctx.newSession(m, GenerationOptions.builder().maxNewTokens(4).temperature(0).build())) {
        int[] pieces = {0};
        s.generate("The database", (piece, id) -> {
          pieces[0]++;
          return true;
        });
        assertTrue(pieces[0] >= 4, pieces[0] + " pieces");
      }
    }
  }

  @Test
  void cancelFromTheCallbackWritesNothing() {
    String out = tmp.resolve("q").toString();
    try (Context ctx = TestSupport.cpuContext()) {
      int[] calls = {0};
      GptqException e = assertThrows(GptqException.class,
          () -> ctx.quantizeModel(TestSupport.source(TestSupport.DEMO_MODEL), out, TestSupport.demoQuantizeOptions(),
              (stage, done, total) -> ++calls[0] < 3));
      assertEquals(Status.CANCELLED, e.status());
      assertEquals(3, calls[0], "calls after the cancel");
      assertNothingWritten();

      // An exception stops the work too, and is the one the call throws.
      IllegalStateException boom = new IllegalStateException("boom");
      calls[0] = 0;
      IllegalStateException thrown = assertThrows(IllegalStateException.class,
          () -> ctx.quantizeModel(TestSupport.source(TestSupport.DEMO_MODEL), out, TestSupport.demoQuantizeOptions(),
              (stage, done, total) -> {
                calls[0]++;
                throw boom;
              }));
      assertSame(boom, thrown);
      assertEquals(1, calls[0], "the listener is not called again once it threw");
      assertNothingWritten();
    }
  }

  private void assertNothingWritten() {
    String[] left = new File(tmp.toString()).list();
    assertFalse(left == null || left.length != 0, "left behind: " + (left == null ? "?" : String.join(", ", left)));
  }
}
