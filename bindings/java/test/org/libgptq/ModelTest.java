package org.libgptq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.libgptq.swig.gptq;

class ModelTest {
  @Test
  void opensASharedModelAndReadsItsInfo() {
    try (Context ctx = TestSupport.cpuContext();
        Model m = ctx.openModel(TestSupport.shared("models/docs-llama-16m"))) {
      assertEquals("cpu", ctx.backend());
      assertTrue(ctx.runtimeJson().contains("\"threads\": 2"), ctx.runtimeJson());
      Map<?, ?> info = (Map<?, ?>) Json.parse(m.infoJson());
      assertEquals("LlamaForCausalLM", info.get("architecture"));
      assertTrue(((Number) info.get("vocab_size")).longValue() > 0);
    }
  }

  @Test
  void theLogSinkGetsTheCreationLinesAndLivesUntilTheLastHandleCloses() {
    long before = gptq.callbacks_alive();
    List<String> lines = new ArrayList<>();
    Context ctx = new Context(RuntimeOptions.builder().backend("cpu").logLevel("info").build());
    ctx.setLog((level, msg) -> lines.add(level + " " + msg));
    assertTrue(String.join("\n", lines).contains("backend"), lines.toString());
    Model m = ctx.openModel(TestSupport.source(TestSupport.DEMO_MODEL));
    ctx.close();
    assertEquals(before + 1, gptq.callbacks_alive(), "the model keeps the context's log sink");
    assertTrue(m.tokenizer().tokenize("still open").length > 0);
    m.close();
    assertEquals(before, gptq.callbacks_alive(), "freed with the last handle");
  }
}
