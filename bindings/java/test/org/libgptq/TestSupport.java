package org.libgptq;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/** Paths and handles the tests share. */
final class TestSupport {
  private TestSupport() {}

  static final String DEMO_MODEL = "demo/docs-llama-tiny";

  /** The repository root: GPTQ_SOURCE_DIR (set by ctest) or the working directory. */
  static Path sourceDir() {
    String d = System.getenv("GPTQ_SOURCE_DIR");
    return Path.of(d != null && !d.isEmpty() ? d : ".").toAbsolutePath().normalize();
  }

  static String source(String rel) {
    return sourceDir().resolve(rel).toString();
  }

  /**
   * ../shared/<rel>; a missing file fails under CI=true and skips the test otherwise, as
   * tests/support/shared_data.h does.
   */
  static String shared(String rel) {
    String d = System.getenv("GPTQ_SHARED_DIR");
    Path dir = d != null && !d.isEmpty() ? Path.of(d) : sourceDir().resolve("../shared");
    Path p = dir.resolve(rel);
    if (!Files.exists(p)) {
      if ("true".equals(System.getenv("CI"))) fail("CI=true but the shared test file is missing: " + p);
      Assumptions.abort("shared test file missing (skipped outside CI): " + p);
    }
    return p.toString();
  }

  static Context cpuContext() {
    return new Context(RuntimeOptions.builder().backend("cpu").threads(2).build());
  }

  static String read(String path) throws IOException {
    return Files.readString(Path.of(path));
  }

  static QuantizeOptions demoQuantizeOptions() {
    return QuantizeOptions.builder().bits(4).groupSize(128)
        .calibration(CalibrationOptions.builder().files(source("demo/text/calib.txt")).nsamples(4).seqlen(64).build())
        .build();
  }
}
