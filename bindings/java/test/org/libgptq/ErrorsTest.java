package org.libgptq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ErrorsTest {
  @TempDir Path tmp;

  @Test
  void aMissingDirectoryNamesIt() {
    String missing = tmp.resolve("no-such-model").toString();
    try (Context ctx = TestSupport.cpuContext()) {
      GptqException e = assertThrows(GptqException.class, () -> ctx.openModel(missing));
      assertEquals(Status.IO, e.status());
      assertTrue(e.libraryMessage().contains(missing), e.getMessage());
    }
  }

  @Test
  void aBadConfigCarriesTheSchemasMessage() {
    MatrixInput in = MatrixInput.of(new float[32 * 128], 32, 128);
    try (Context ctx = TestSupport.cpuContext()) {
      for (QuantizeOptions o : new QuantizeOptions[] {
          QuantizeOptions.fromJson("{\"bits\": 5}"), QuantizeOptions.builder().bits(5).build()}) {
        GptqException e = assertThrows(GptqException.class, () -> ctx.rtnMatrix(in, o));
        assertEquals(Status.INVALID_ARGUMENT, e.status());
        assertTrue(e.libraryMessage().contains("bits"), e.getMessage());
        e = assertThrows(GptqException.class, o::normalized);
        assertTrue(e.libraryMessage().contains("bits"), e.getMessage());
      }
    }
    GptqException e = assertThrows(GptqException.class,
        () -> new Context(RuntimeOptions.fromJson("{\"threads\": -1}")));
    assertEquals(Status.INVALID_ARGUMENT, e.status());
    assertTrue(e.getMessage().contains("threads"), e.getMessage());
    assertTrue(GenerationOptions.builder().topK(4).build().normalized().contains("\"top_k\": 4"));
  }

  @Test
  void aClosedHandleIsRefusedAndClosingTwiceDoesNothing() {
    Context ctx = TestSupport.cpuContext();
    ctx.close();
    ctx.close();
    GptqException e = assertThrows(GptqException.class, () -> ctx.openModel("/nonexistent"));
    assertEquals(Status.INVALID_ARGUMENT, e.status());
    assertTrue(e.getMessage().contains("closed Context"), e.getMessage());
  }

  /** gptq.h lets a callback destroy the handles of its own call: closing waits for the call. */
  @Test
  void closingFromACallbackOfItsOwnCall() {
    Context ctx = TestSupport.cpuContext();
    Model m = ctx.openModel(TestSupport.source(TestSupport.DEMO_MODEL));
    Session s = ctx.newSession(m, GenerationOptions.builder().maxNewTokens(4).temperature(0).build());
    int[] n = {0};
    s.generate("The database", (piece, id) -> {
      s.close();
      m.close();
      ctx.close();
      n[0]++;
      return true;
    });
    assertTrue(n[0] >= 4, n[0] + " tokens");
    assertThrows(GptqException.class, () -> s.generate("x", null));
  }

  @Test
  void aCallbackReenteringItsContextGetsReentrant() {
    try (Context ctx = TestSupport.cpuContext();
        Model m = ctx.openModel(TestSupport.source(TestSupport.DEMO_MODEL));
        Session s = ctx.newSession(m, GenerationOptions.builder().maxNewTokens(2).temperature(0).build())) {
      GptqException[] inner = {null};
      s.generate("The database", (piece, id) -> {
        try {
          ctx.evaluate(m, "text", null, null);
        } catch (GptqException e) {
          inner[0] = e;
        }
        return false;
      });
      assertEquals(Status.REENTRANT, inner[0].status(), String.valueOf(inner[0]));
    }
  }
}
