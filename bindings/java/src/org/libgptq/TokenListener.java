package org.libgptq;

/**
 * Receives generated text as it becomes final, and the token just generated (-1 for a
 * last call that flushes text held back at the end). The piece is often "" (while a
 * multi-byte character or a possible stop string is pending). It runs on the thread that
 * called {@link Session#generate}.
 *
 * <p>Return false to stop generating (generate then returns normally). An exception
 * thrown here stops the generation and is thrown by generate when it returns.
 */
@FunctionalInterface
public interface TokenListener {
  boolean onToken(String piece, int tokenId);
}
