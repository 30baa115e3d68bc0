// Paths and measures the tests share.
using System;
using System.IO;
using System.Json;
using LibGptq;
using NUnit.Framework;

namespace LibGptq.Tests {

static class Support {
  // The repository root, GPTQ_SOURCE_DIR (ctest sets it: the test assembly
  // lives in the build tree, which may be anywhere).
  internal static string SourceDir {
    get {
      string d = Environment.GetEnvironmentVariable("GPTQ_SOURCE_DIR");
      if (string.IsNullOrEmpty(d)) Assert.Fail("GPTQ_SOURCE_DIR is not set (ctest sets it)");
      return d;
    }
  }

  internal static string Source(string rel) { return Path.Combine(SourceDir, rel); }

  internal static string DemoModel { get { return Source("demo/docs-llama-tiny"); } }

  // ../shared/<rel>; a missing file fails under CI=true and ignores the test
  // otherwise, as tests/support/shared_data.h does.
  internal static string Shared(string rel) {
    string dir = Environment.GetEnvironmentVariable("GPTQ_SHARED_DIR");
    if (string.IsNullOrEmpty(dir)) dir = Path.Combine(SourceDir, "..", "shared");
    string p = Path.Combine(dir, rel);
    if (!File.Exists(p) && !Directory.Exists(p)) {
      if (Environment.GetEnvironmentVariable("CI") == "true")
        Assert.Fail("CI=true but the shared test file is missing: " + p);
      Assert.Ignore("shared test file missing (skipped outside CI): " + p);
    }
    return p;
  }

  internal static Context CpuContext() { return new Context(new RuntimeOptions { Backend = "cpu", Threads = 2 }); }

  internal static JsonValue ReadJson(string path) { return JsonValue.Parse(File.ReadAllText(path)); }

  internal static string TempDir() {
    string d = Path.Combine(Path.GetTempPath(), "gptq-cs-" + Guid.NewGuid().ToString("N"));
    Directory.CreateDirectory(d);
    return d;
  }

  // Resident memory in KiB (statm's second field).
  internal static long RssKiB() {
    string[] f = File.ReadAllText("/proc/self/statm").Split(' ');
    return long.Parse(f[1]) * Environment.SystemPageSize / 1024;
  }

  internal static long SettledRssKiB() {
    for (int i = 0; i < 3; i++) {
      GC.Collect();
      GC.WaitForPendingFinalizers();
    }
    return RssKiB();
  }
}

}
