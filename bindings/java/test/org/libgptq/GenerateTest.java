package org.libgptq;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class GenerateTest {
  static final String PROMPT = "To create a table in PostgreSQL, use the";

  /** The ids gptq_generate streams through gptq.h alone (bindings/java/test/greedy_ids.c). */
  static int[] cApiGreedyIds(String dir, int maxNew) throws Exception {
    String exe = System.getProperty("gptq.test.greedy_ids");
    assertTrue(exe != null, "-Dgptq.test.greedy_ids is not set (ctest sets it)");
    Process p = new ProcessBuilder(exe, dir, PROMPT, Integer.toString(maxNew)).redirectErrorStream(true).start();
    List<Integer> ids = new ArrayList<>();
    StringBuilder output = new StringBuilder();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream()))) {
      for (String line; (line = r.readLine()) != null; ) {
        output.append(line).append('\n');
        if (line.matches("-?\\d+")) ids.add(Integer.parseInt(line));
      }
    }
    assertEquals(0, p.waitFor(), output.toString());
    return ids.stream().mapToInt(Integer::intValue).toArray();
  }

  @Test
  void greedyGenerationStreamsTheCApisIds() throws Exception {
    String dir = TestSupport.shared("models/docs-llama-16m");
    int[] want = cApiGreedyIds(dir, 8);
    assertTrue(want.length >= 8, "the C API streamed " + want.length + " ids");
    try (Context ctx = TestSupport.cpuContext();
        Model m = ctx.openModel(dir);
        Session s = ctx.newSession(m, GenerationOptions.builder().maxNewTokens(8).temperature(0).build())) {
      List<Integer> ids = new ArrayList<>();
      StringBuilder text = new StringBuilder();
      s.generate(PROMPT, (piece, id) -> {
        ids.add(id);
        text.append(piece);
        return true;
      });
      assertArrayEquals(want, ids.stream().mapToInt(Integer::intValue).toArray());
      assertTrue(text.toString().startsWith(" CREATE TABLE"), text.toString());
      assertEquals(text.toString(), s.generate(PROMPT), "the same prompt gives the same text");

      // Stopping from the listener, an exception in it, and a progress cancel.
      int[] n = {0};
      s.generate(PROMPT, (piece, id) -> ++n[0] < 1);
      assertEquals(1, n[0], "tokens after stop");
      IllegalArgumentException boom = new IllegalArgumentException("token boom");
      assertSame(boom, assertThrows(IllegalArgumentException.class, () -> s.generate(PROMPT, (piece, id) -> {
        throw boom;
      })));
      s.setProgress((stage, done, total) -> done < 3);
      GptqException e = assertThrows(GptqException.class, () -> s.generate(PROMPT, null));
      assertEquals(Status.CANCELLED, e.status());
      UnsupportedOperationException stop = new UnsupportedOperationException("progress boom");
      s.setProgress((stage, done, total) -> {
        throw stop;
      });
      assertSame(stop, assertThrows(UnsupportedOperationException.class, () -> s.generate(PROMPT, null)));
      s.setProgress(null);
      assertEquals(text.toString(), s.generate(PROMPT), "usable after all that");
    }
  }
}
