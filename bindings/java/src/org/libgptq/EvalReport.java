package org.libgptq;

import java.util.List;
import java.util.Map;

/**
 * The EvalReport of schema/gptq.fbs: perplexity (exp of the mean NLL), windows and tokens
 * scored, each window's NLL; {@link #json()} is the report as the library wrote it.
 */
public record EvalReport(
    double ppl, double nll, long windows, long tokens, long textTokens, double[] windowNll, double seconds,
    String backend, String json) {
  static EvalReport parse(String json) {
    Map<?, ?> m = (Map<?, ?>) Json.parse(json);
    List<?> w = (List<?>) m.get("window_nll");
    double[] windowNll = new double[w == null ? 0 : w.size()];
    for (int i = 0; i < windowNll.length; i++) windowNll[i] = ((Number) w.get(i)).doubleValue();
    return new EvalReport(
        Json.number(m, "ppl"),
        Json.number(m, "nll"),
        (long) Json.number(m, "windows"),
        (long) Json.number(m, "tokens"),
        (long) Json.number(m, "text_tokens"),
        windowNll,
        Json.number(m, "seconds"),
        (String) m.get("backend"),
        json);
  }
}
