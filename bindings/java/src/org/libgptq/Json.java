package org.libgptq;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The little JSON this binding needs without a dependency: writing the options' fields,
 * reading the library's reports. Objects are Map (in order), arrays List, integers Long,
 * other numbers Double.
 */
final class Json {
  private Json() {}

  /** JSON text written as is (a nested configuration). */
  record Raw(String json) {}

  static String write(Object v) {
    StringBuilder b = new StringBuilder();
    write(b, v);
    return b.toString();
  }

  private static void write(StringBuilder b, Object v) {
    if (v == null) {
      b.append("null");
    } else if (v instanceof Raw r) {
      b.append(r.json());
    } else if (v instanceof String s) {
      quote(b, s);
    } else if (v instanceof Double d) {
      if (d.isNaN() || d.isInfinite()) throw new IllegalArgumentException("JSON has no " + d);
      b.append(d.doubleValue() == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString(d.longValue()) : d.toString());
    } else if (v instanceof Number || v instanceof Boolean) {
      b.append(v);
    } else if (v instanceof Map<?, ?> m) {
      b.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> e : m.entrySet()) {
        if (!first) b.append(", ");
        first = false;
        quote(b, (String) e.getKey());
        b.append(": ");
        write(b, e.getValue());
      }
      b.append('}');
    } else if (v instanceof List<?> l) {
      b.append('[');
      for (int i = 0; i < l.size(); i++) {
        if (i > 0) b.append(", ");
        write(b, l.get(i));
      }
      b.append(']');
    } else {
      throw new IllegalArgumentException("no JSON for " + v.getClass());
    }
  }

  private static void quote(StringBuilder b, String s) {
    b.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
          else b.append(c);
        }
      }
    }
    b.append('"');
  }

  static Object parse(String text) {
    Parser p = new Parser(text);
    Object v = p.value();
    p.space();
    if (p.i != text.length()) throw p.error("text after the value");
    return v;
  }

  private static final class Parser {
    final String s;
    int i;

    Parser(String s) {
      this.s = s;
    }

    IllegalArgumentException error(String what) {
      return new IllegalArgumentException("JSON: " + what + " at offset " + i);
    }

    void space() {
      while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++;
    }

    boolean eat(char c) {
      space();
      if (i < s.length() && s.charAt(i) == c) {
        i++;
        return true;
      }
      return false;
    }

    Object value() {
      space();
      if (i >= s.length()) throw error("end of text");
      char c = s.charAt(i);
      if (c == '{') {
        i++;
        Map<String, Object> m = new LinkedHashMap<>();
        if (eat('}')) return m;
        do {
          space();
          String k = string();
          if (!eat(':')) throw error("':' expected");
          m.put(k, value());
        } while (eat(','));
        if (!eat('}')) throw error("'}' expected");
        return m;
      }
      if (c == '[') {
        i++;
        List<Object> l = new ArrayList<>();
        if (eat(']')) return l;
        do {
          l.add(value());
        } while (eat(','));
        if (!eat(']')) throw error("']' expected");
        return l;
      }
      if (c == '"') return string();
      if (s.startsWith("true", i)) return word("true", Boolean.TRUE);
      if (s.startsWith("false", i)) return word("false", Boolean.FALSE);
      if (s.startsWith("null", i)) return word("null", null);
      return number();
    }

    Object word(String w, Object v) {
      i += w.length();
      return v;
    }

    String string() {
      if (i >= s.length() || s.charAt(i) != '"') throw error("string expected");
      StringBuilder b = new StringBuilder();
      i++;
      while (true) {
        if (i >= s.length()) throw error("unterminated string");
        char c = s.charAt(i++);
        if (c == '"') return b.toString();
        if (c != '\\') {
          b.append(c);
          continue;
        }
        char e = s.charAt(i++);
        switch (e) {
          case 'n' -> b.append('\n');
          case 't' -> b.append('\t');
          case 'r' -> b.append('\r');
          case 'b' -> b.append('\b');
          case 'f' -> b.append('\f');
          case 'u' -> {
            b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
            i += 4;
          }
          default -> b.append(e);
        }
      }
    }

    Object number() {
      int start = i;
      boolean integral = true;
      while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) {
        if (".eE".indexOf(s.charAt(i)) >= 0) integral = false;
        i++;
      }
      if (start == i) throw error("a value expected");
      String t = s.substring(start, i);
      return integral ? (Object) Long.parseLong(t) : (Object) Double.parseDouble(t);
    }
  }

  // Typed reads of a parsed object.
  static double number(Map<?, ?> m, String key) {
    Object v = m.get(key);
    if (!(v instanceof Number n)) throw new IllegalArgumentException("JSON: no number \"" + key + "\"");
    return n.doubleValue();
  }
}
