package org.libgptq;

/**
 * Loads libgptq_java.so, the JNI wrapper that SWIG generates from bindings/swig/gptq.i
 * (it links libgptq.so and finds it through its RPATH: the build tree's lib/, or
 * {@code $ORIGIN} once installed beside it).
 *
 * <p>Where from, in this order: the system property {@code org.libgptq.library} (the
 * file's absolute path), else {@code System.loadLibrary("gptq_java")}, which searches
 * {@code -Djava.library.path} (e.g. {@code build/default/lib}, or {@code <prefix>/lib}).
 * The generated classes call {@link #load()} before their first native call; a program
 * need not.
 */
public final class NativeLibrary {
  /** The system property naming the library's file, overriding java.library.path. */
  public static final String PATH_PROPERTY = "org.libgptq.library";

  private static boolean loaded;

  private NativeLibrary() {}

  /** Loads the library once; later calls do nothing. */
  public static synchronized void load() {
    if (loaded) return;
    String path = System.getProperty(PATH_PROPERTY);
    if (path != null && !path.isEmpty()) {
      System.load(path);
    } else {
      System.loadLibrary("gptq_java");
    }
    loaded = true;
  }
}
