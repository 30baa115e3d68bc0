package org.libgptq;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TokenizerTest {
  static int[] ints(Object list) {
    List<?> l = (List<?>) list;
    int[] out = new int[l.size()];
    for (int i = 0; i < out.length; i++) out[i] = ((Number) l.get(i)).intValue();
    return out;
  }

  /** The ids of tests/capi/tokenize_test.cpp: the goldens it checks. */
  @Test
  void tokenizeMatchesTheCTestsGoldens() throws Exception {
    try (Context ctx = TestSupport.cpuContext()) {
      Model m = ctx.openModel(TestSupport.shared("models/docs-llama-16m"));
      Tokenizer tok = m.tokenizer();
      List<?> cases = (List<?>) Json.parse(TestSupport.read(TestSupport.source("tests/data/tokenizer/hard_cases.json")));
      Map<?, ?> goldens = (Map<?, ?>) ((Map<?, ?>) Json.parse(
          TestSupport.read(TestSupport.source("tests/data/tokenizer/goldens-docs-llama-16m.json")))).get("hard_cases");
      int checked = 0;
      for (Object o : cases) {
        Map<?, ?> c = (Map<?, ?>) o;
        String name = (String) c.get("name");
        String text = (String) c.get("text");
        if (text == null) continue; // invalid UTF-8 cases: covered by the core tests
        Map<?, ?> want = (Map<?, ?>) goldens.get(name);
        assertArrayEquals(ints(want.get("ids")), tok.tokenize(text), name);
        assertArrayEquals(ints(want.get("ids_no_special")), tok.tokenize(text, Tokenizer.NO_SPECIAL), name);
        assertEquals(want.get("decoded"), tok.detokenize(ints(want.get("ids"))), name);
        assertEquals(want.get("decoded_skip"), tok.detokenize(ints(want.get("ids")), Tokenizer.SKIP_SPECIAL), name);
        checked++;
      }
      assertTrue(checked >= 20, checked + " cases checked");

      // Past the first guess of the buffer, and a bad id.
      String many = "<s>".repeat(40);
      assertTrue(tok.tokenize(many).length > many.length() / 3);
      GptqException e = assertThrows(GptqException.class, () -> tok.detokenize(new int[] {5, 1 << 30}));
      assertEquals(Status.INVALID_ARGUMENT, e.status());
      assertTrue(e.getMessage().contains("ids[1]"), e.getMessage());

      // Closing a view of the model's tokenizer closes that view alone.
      Tokenizer view = m.tokenizer();
      view.close();
      assertThrows(GptqException.class, () -> view.tokenize("a"));
      assertEquals(2, m.tokenizer().tokenize("a").length);

      m.close();
      e = assertThrows(GptqException.class, () -> tok.tokenize("a"));
      assertEquals(Status.INVALID_ARGUMENT, e.status());
      assertTrue(e.getMessage().contains("closed Model"), e.getMessage());
    }
  }

  @Test
  void aTokenizerWithoutItsModel() {
    try (Tokenizer tok = Tokenizer.open(TestSupport.source(TestSupport.DEMO_MODEL))) {
      String text = "Grüße, 世界 😀!";
      assertEquals(text, tok.detokenize(tok.tokenize(text, Tokenizer.NO_SPECIAL)));
    }
  }
}
