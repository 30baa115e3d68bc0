package org.libgptq;

/**
 * Receives a long call's progress: the stage ("quantize", "write checkpoint",
 * "perplexity", "generate"), the units done and the total (0 when unknown). It runs on
 * the thread that made the call.
 *
 * <p>Return false to cancel: the call stops, cleans up (no partial file is left) and
 * throws a {@link GptqException} with status CANCELLED. An exception thrown here also
 * stops the call, and is the one the call throws when it returns.
 */
@FunctionalInterface
public interface ProgressListener {
  boolean onProgress(String stage, long done, long total);
}
