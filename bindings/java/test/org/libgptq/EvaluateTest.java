package org.libgptq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class EvaluateTest {
  @Test
  void perplexity() {
    try (Context ctx = TestSupport.cpuContext();
        Model m = ctx.openModel(TestSupport.shared("models/docs-llama-16m"))) {
      String text = "PostgreSQL is a powerful, open source object-relational database system. ".repeat(12);
      List<Long> done = new ArrayList<>();
      EvalReport r = ctx.evaluate(m, text, EvalOptions.builder().seqlen(32).build(), (stage, d, total) -> {
        assertEquals("perplexity", stage);
        done.add(d);
        return true;
      });
      assertTrue(r.windows() >= 2, r.toString());
      assertEquals(r.windows() * 31, r.tokens());
      assertEquals(r.windows(), r.windowNll().length);
      assertTrue(r.ppl() > 1 && r.ppl() < 1000, "ppl " + r.ppl());
      assertEquals(Math.exp(r.nll()), r.ppl(), 1e-9 * r.ppl());
      assertEquals("cpu", r.backend());
      assertEquals(r.windows(), (long) done.get(done.size() - 1));

      GptqException e = assertThrows(GptqException.class, () -> ctx.evaluate(m, "short", null, null));
      assertEquals(Status.INVALID_ARGUMENT, e.status());
      assertTrue(e.getMessage().contains("fewer than one window"), e.getMessage());
    }
  }
}
