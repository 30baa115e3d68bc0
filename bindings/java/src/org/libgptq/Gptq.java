package org.libgptq;

import org.libgptq.swig.gptq;

/** The library's version and schema. */
public final class Gptq {
  private Gptq() {}

  /** The library's version, "MAJOR.MINOR.PATCH". */
  public static String version() {
    return gptq.version();
  }

  /** The version as MAJOR * 10000 + MINOR * 100 + PATCH. */
  public static long versionNumber() {
    return gptq.version_number();
  }

  /** The ABI version (the SONAME suffix of libgptq.so). */
  public static long abiVersion() {
    return gptq.abi_version();
  }

  /** The schema the library validates configurations against (flatbuffers IDL text). */
  public static String configSchema() {
    return gptq.config_schema();
  }
}
