package org.libgptq;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.libgptq.swig.config_encoding;
import org.libgptq.swig.gptq;

/**
 * A configuration of schema/gptq.fbs as the JSON the library takes. Made by each kind's
 * builder (a field left unset is left out, so the library's default applies) or from
 * JSON text ({@code fromJson}). The library validates it where it is used, and
 * {@link #normalized()} validates it now; either way an unknown field, a wrong type or a
 * value out of range throws a {@link GptqException} with the schema's own message naming
 * the field.
 */
public abstract class Options {
  private final String json;

  Options(String json) {
    this.json = json;
  }

  /** The JSON text given to the library. */
  public String toJson() {
    return json;
  }

  @Override
  public String toString() {
    return json;
  }

  /** gptq_config_kind of this table. */
  abstract int kind();

  /**
   * Validates against the schema and returns the configuration with every field present
   * (defaults filled in), as gptq_config_convert gives it.
   */
  public String normalized() {
    byte[] out =
        gptq.config_convert(
            kind(),
            json.getBytes(StandardCharsets.UTF_8),
            config_encoding.GPTQ_ENCODING_JSON,
            config_encoding.GPTQ_ENCODING_JSON);
    return new String(out, StandardCharsets.UTF_8);
  }

  static String json(Options o) {
    return o == null ? null : o.json;
  }

  /** The fields set so far, in order; each builder's setters name the schema's fields. */
  abstract static class Builder<B extends Builder<B>> {
    private final Map<String, Object> fields = new LinkedHashMap<>();

    @SuppressWarnings("unchecked")
    B set(String field, Object value) {
      fields.put(field, value);
      return (B) this;
    }

    static List<Object> list(String... values) {
      return Arrays.asList((Object[]) values);
    }

    String json() {
      return Json.write(fields);
    }
  }
}
