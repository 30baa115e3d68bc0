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

  /**
   * A batch: each sequence's greedy text is its prompt's alone; stopping one sequence leaves
   * the others whole; an exception stops all and is thrown; no prompt is the library's error.
   */
  @Test
  void batchSequencesEqualTheirPromptsAlone() {
    String dir = TestSupport.shared("models/docs-llama-16m");
    // The prompts of tests/core/eval/generate_test.cpp's GenerateBatch (ragged: 11,
    // 4 and 21 tokens), which checks that their greedy continuations have no
    // near-tie: a batched pass cannot flip a token of them, on any CPU.
    List<String> prompts = List.of(PROMPT, "SELECT",
        "The PostgreSQL documentation explains how to create an index on a table so that queries which filter on");
    long strings = org.libgptq.swig.gptq.strings_alive();
    try (Context ctx = TestSupport.cpuContext();
        Model m = ctx.openModel(dir);
        Session s = ctx.newSession(m, GenerationOptions.builder().maxNewTokens(8).temperature(0).build())) {
      List<String> alone = new ArrayList<>();
      for (String p : prompts) alone.add(s.generate(p));
      List<String> batch = s.generateBatch(prompts);
      assertEquals(alone, batch);
      for (String text : batch) assertTrue(!text.isEmpty(), "every sequence gets text: " + batch);

      StringBuilder[] texts = {new StringBuilder(), new StringBuilder(), new StringBuilder()};
      int[] calls = new int[prompts.size()];
      s.generateBatch(prompts, (seq, piece, id) -> {
        texts[seq].append(piece);
        calls[seq]++;
        return seq != 1;
      });
      assertEquals(1, calls[1], "sequence 1's calls after it stopped at its first");
      assertEquals(alone.get(0), texts[0].toString());
      assertEquals(alone.get(2), texts[2].toString());

      IllegalStateException boom = new IllegalStateException("batch boom");
      assertSame(boom, assertThrows(IllegalStateException.class, () -> s.generateBatch(prompts, (seq, piece, id) -> {
        throw boom;
      })));
      GptqException e = assertThrows(GptqException.class, () -> s.generateBatch(List.of()));
      assertEquals(Status.INVALID_ARGUMENT, e.status());
      assertTrue(e.libraryMessage().contains("no prompt"), e.getMessage());
      s.setProgress((stage, done, total) -> done < 3);
      assertEquals(Status.CANCELLED, assertThrows(GptqException.class, () -> s.generateBatch(prompts)).status());
      s.setProgress(null);
    }
    assertEquals(strings, org.libgptq.swig.gptq.strings_alive(), "the prompts' UTF-8 copies are freed");
  }
}
